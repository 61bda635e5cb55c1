// The driver LocalStepFunctions runs on Node 22: aws-local-stepfunctions used as a library, one
// long-lived process serving many executions, so an execution costs no node start-up and every
// answer is one strict JSON line (the package's CLI prints results meant for people).
//
// stdin, one JSON object per line:
//   {"run": "<execution id>", "definition": {...ASL...}, "input": <JSON>,
//    "retryIntervalMs": <number, optional: every Retry waits this long instead of its backoff>}
//   {"abort": "<execution id>"}
//   {"prepare": "<request id>", "definition": {...}}   validate and cache the machine, run nothing
// stdout, one JSON object per line:
//   {"ready": true, "engine": "<version>"}                        once, at start
//   {"id": "...", "status": "PREPARED"}                            the answer to prepare
//   {"id": "...", "status": "SUCCEEDED", "output": <JSON>, "events": [...]}
//   {"id": "...", "status": "FAILED" | "TIMED_OUT" | "ABORTED", "error": "...", "cause": "...", "events": [...]}
//   {"id": "..." | null, "status": "REJECTED", "error": "Strata.InvalidRequest" | "Strata.InvalidDefinition", "cause": "..."}
// A bad line is answered with REJECTED and the driver keeps serving the other executions.
//
// Every Task state is overridden to POST {"executionId","state","resource","timeoutSeconds","payload"} to the Java side
// at STRATA_TASK_URL with "Authorization: Bearer STRATA_TASK_SECRET" (a random secret per run, given in
// the environment, not on the command line). The Java side answers 200 {"payload": <result>} or
// {"errorType","errorMessage"}; an error becomes a task error named errorType whose Cause is the JSON
// {"errorMessage","errorType"}, as Step Functions reports a Lambda function's error.
'use strict';

const path = require('node:path');
const readline = require('node:readline');

const enginePath = process.env.STRATA_SFN_ENGINE;
const taskUrl = process.env.STRATA_TASK_URL;
const secret = process.env.STRATA_TASK_SECRET;
if (!enginePath || !taskUrl || !secret) {
  process.stderr.write('sfn-driver: STRATA_SFN_ENGINE, STRATA_TASK_URL and STRATA_TASK_SECRET must be set\n');
  process.exit(2);
}
// stdout carries the protocol only: anything the engine or its dependencies log goes to stderr.
console.log = console.info = console.warn = console.debug = console.error;

const { StateMachine, ExecutionError, ExecutionTimeoutError, ExecutionAbortedError } = require(enginePath);
const engineVersion = require(path.join(enginePath, 'package.json')).version;

// A task call may take as long as its state's TimeoutSeconds (the engine's default is 60 s); the HTTP
// call is cut a little later so that the engine's own States.Timeout is the error the workflow sees.
const DEFAULT_TASK_TIMEOUT_S = 60;
const CALL_GRACE_MS = 2000;

const running = new Map(); // execution id -> abort()

// Constructing a StateMachine validates the definition (asl-validator compiles its schemas each time):
// 0.3-1 s here, against under 1 ms to run a short workflow. A machine holds no per-run state, so one
// is kept per distinct definition text (a handful in practice; bounded, oldest dropped first).
const MACHINE_CACHE_SIZE = 64;
const machines = new Map(); // definition JSON text -> StateMachine

function machineFor(definition) {
  const key = JSON.stringify(definition);
  let m = machines.get(key);
  if (!m) {
    m = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });
    if (machines.size >= MACHINE_CACHE_SIZE) machines.delete(machines.keys().next().value);
    machines.set(key, m);
  }
  return m;
}

function send(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

class TaskError extends Error {
  constructor(name, errorMessage) {
    super(JSON.stringify({ errorMessage, errorType: name }));
    this.name = name;
  }
}

async function callTask(executionId, stateName, state, payload) {
  const timeoutMs = (state.TimeoutSeconds || DEFAULT_TASK_TIMEOUT_S) * 1000 + CALL_GRACE_MS;
  let res;
  try {
    res = await fetch(taskUrl, {
      method: 'POST',
      headers: { authorization: 'Bearer ' + secret, 'content-type': 'application/json' },
      body: JSON.stringify({
        executionId, state: stateName, resource: state.Resource,
        timeoutSeconds: state.TimeoutSeconds || DEFAULT_TASK_TIMEOUT_S, payload,
      }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    // The task endpoint did not answer: what a Lambda client sees when the service fails.
    throw new TaskError('Lambda.ServiceException', 'local task endpoint unreachable: ' + e.message);
  }
  let body;
  try {
    body = await res.json();
  } catch (e) {
    throw new TaskError('Lambda.ServiceException', 'local task endpoint answered HTTP ' + res.status + ' without JSON');
  }
  if (res.status === 200 && body && typeof body === 'object' && 'payload' in body) {
    return body.payload;
  }
  const type = body && typeof body.errorType === 'string' ? body.errorType : 'Lambda.ServiceException';
  const message = body && typeof body.errorMessage === 'string' ? body.errorMessage : 'HTTP ' + res.status;
  throw new TaskError(type, message);
}

// Every Task state, at any depth (Parallel branches, Map processors), by name.
function taskOverrides(executionId, machine, out) {
  for (const [name, state] of Object.entries(machine.States || {})) {
    if (state.Type === 'Task') {
      out[name] = (input) => callTask(executionId, name, state, input);
    } else if (state.Type === 'Parallel') {
      for (const b of state.Branches || []) taskOverrides(executionId, b, out);
    } else if (state.Type === 'Map') {
      const proc = state.ItemProcessor || state.Iterator;
      if (proc) taskOverrides(executionId, proc, out);
    }
  }
  return out;
}

function retryOverrides(machine, ms, out) {
  for (const [name, state] of Object.entries(machine.States || {})) {
    if (state.Retry) out[name] = ms;
    if (state.Type === 'Parallel') for (const b of state.Branches || []) retryOverrides(b, ms, out);
    if (state.Type === 'Map' && (state.ItemProcessor || state.Iterator)) retryOverrides(state.ItemProcessor || state.Iterator, ms, out);
  }
  return out;
}

function compactEvent(e) {
  const c = { type: e.type };
  if (e.state) c.state = e.state.name;
  if (e.Error !== undefined) c.error = e.Error;
  if (e.Cause !== undefined) c.cause = typeof e.Cause === 'string' ? e.Cause : JSON.stringify(e.Cause);
  if (e.retry) c.attempt = e.retry.attempt;
  if (e.catch) c.next = e.catch.catcher.Next;
  return c;
}

async function run(req) {
  const id = req.run;
  let machine;
  try {
    machine = machineFor(req.definition);
  } catch (e) {
    send({ id, status: 'REJECTED', error: 'Strata.InvalidDefinition', cause: String(e && e.message || e) });
    return;
  }
  const overrides = { taskResourceLocalHandlers: taskOverrides(id, req.definition, {}) };
  if (typeof req.retryIntervalMs === 'number') {
    overrides.retryIntervalOverrides = retryOverrides(req.definition, req.retryIntervalMs, {});
  }
  let execution;
  try {
    execution = machine.run(req.input === undefined ? {} : req.input, { overrides, context: { Execution: { Id: id, Name: id } } });
  } catch (e) {
    send({ id, status: 'REJECTED', error: 'Strata.InvalidRequest', cause: String(e && e.message || e) });
    return;
  }
  running.set(id, execution.abort);
  const events = [];
  const collecting = (async () => {
    for await (const e of execution.eventLogs) events.push(compactEvent(e));
  })();
  try {
    const output = await execution.result;
    await collecting;
    send({ id, status: 'SUCCEEDED', output: output === undefined ? null : output, events });
  } catch (e) {
    // The event log closes when the execution ends; a timeout or abort ends it too.
    await Promise.race([collecting, new Promise((r) => setTimeout(r, 1000))]);
    if (e instanceof ExecutionTimeoutError) {
      send({ id, status: 'TIMED_OUT', error: 'States.Timeout', cause: 'the execution exceeded its TimeoutSeconds', events });
    } else if (e instanceof ExecutionAbortedError) {
      send({ id, status: 'ABORTED', error: 'Strata.Aborted', cause: 'the execution was aborted', events });
    } else if (e instanceof ExecutionError) {
      const failed = events.filter((x) => x.type === 'ExecutionFailed').pop();
      const inner = e.cause || {};
      send({
        id, status: 'FAILED',
        error: failed ? failed.error : String(inner.name || 'States.Runtime'),
        cause: failed ? failed.cause : String(inner.message || ''),
        events,
      });
    } else {
      send({ id, status: 'FAILED', error: 'States.Runtime', cause: String(e && e.stack || e), events });
    }
  } finally {
    running.delete(id);
  }
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  if (line.trim() === '') return;
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    send({ id: null, status: 'REJECTED', error: 'Strata.InvalidRequest', cause: 'not JSON: ' + e.message });
    return;
  }
  if (req === null || typeof req !== 'object' || Array.isArray(req)) {
    send({ id: null, status: 'REJECTED', error: 'Strata.InvalidRequest', cause: 'a request is a JSON object' });
  } else if (typeof req.prepare === 'string') {
    try {
      machineFor(req.definition);
      send({ id: req.prepare, status: 'PREPARED' });
    } catch (e) {
      send({ id: req.prepare, status: 'REJECTED', error: 'Strata.InvalidDefinition', cause: String(e && e.message || e) });
    }
  } else if (typeof req.abort === 'string') {
    const abort = running.get(req.abort);
    if (abort) abort();
  } else if (typeof req.run !== 'string' || req.run === '') {
    send({ id: null, status: 'REJECTED', error: 'Strata.InvalidRequest', cause: 'missing "run" (the execution id)' });
  } else if (running.has(req.run)) {
    send({ id: req.run, status: 'REJECTED', error: 'Strata.InvalidRequest', cause: 'execution ' + req.run + ' is already running' });
  } else if (req.definition === null || typeof req.definition !== 'object' || typeof req.definition.States !== 'object') {
    send({ id: req.run, status: 'REJECTED', error: 'Strata.InvalidDefinition', cause: 'the definition is not an ASL object with States' });
  } else {
    run(req).catch((e) => send({ id: req.run, status: 'REJECTED', error: 'States.Runtime', cause: String(e && e.stack || e) }));
  }
});
// The Java side closing stdin (or dying) ends the driver: no orphan keeps running.
lines.on('close', () => process.exit(0));
send({ ready: true, engine: engineVersion });
