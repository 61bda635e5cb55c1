package dev.strata.statemachines;

import dev.strata.control.local.LocalDynamo;
import dev.strata.control.model.OperationId;
import dev.strata.control.model.OperationKind;
import dev.strata.control.testing.ControlPlaneHarness;
import dev.strata.pgcore.id.BranchId;
import dev.strata.pgcore.id.EndpointId;
import dev.strata.pgcore.id.NodeId;
import dev.strata.pgcore.id.ProjectId;
import dev.strata.pgcore.id.TimelineId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The local engine's per-execution overhead (bench/local-sfn.sh): executions of a one-state Pass machine
 * (engine round trip only), of the wake workflow with stand-in handlers that return at once (four
 * task calls over the loopback endpoint), and of wake/suspend cycles on one endpoint with the real
 * handlers over dynalite (the compute and storage seams recording, so what is measured is the
 * workflow: engine, handlers and their DynamoDB writes). Prints p50/p99/mean per kind after a warm-up.
 *
 * <pre>java ... LocalStepFunctionsBench [executions, default 200] [warmup, default 30]</pre>
 */
public final class LocalStepFunctionsBench {

    private static final String PASS = """
            {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}""";

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        int warmup = args.length > 1 ? Integer.parseInt(args[1]) : 30;
        long t0 = System.nanoTime();
        try (LocalStepFunctions sfn = LocalStepFunctions.start()) {
            System.out.printf("engine start: %.0f ms%n", (System.nanoTime() - t0) / 1e6);
            RunOptions opts = RunOptions.defaults().withTimeout(Duration.ofMinutes(1));
            StandIns standIns = new StandIns();
            String wakeInput = """
                    {"operationId": "op-1", "endpointId": "ep-1", "projectId": "pr-1", "branchId": "br-main", "recoversExecution": ""}""";
            report("pass (1 state, no task)", measure(n, warmup,
                    () -> sfn.run(PASS, "{}", standIns.handlers(), opts)));
            report("wake (4 tasks, stand-ins)", measure(n, warmup,
                    () -> sfn.run(Workflow.WAKE, wakeInput, standIns.handlers(), opts)));
            realHandlers(sfn, opts, n, warmup);
        }
    }

    private static void realHandlers(LocalStepFunctions sfn, RunOptions opts, int n, int warmup) {
        Path dir;
        try {
            dir = Files.createTempDirectory("local-sfn-bench");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ProjectId project = ProjectId.of("p-bench");
        BranchId branch = BranchId.of("br-bench");
        EndpointId endpoint = EndpointId.of("ep-bench");
        try (LocalDynamo dynamo = LocalDynamo.start(dir); ControlPlaneHarness h = ControlPlaneHarness.on(dynamo)) {
            h.project(project);
            h.readyBranch(project, branch, TimelineId.parse("00112233445566778899aabbccddeeff"));
            h.endpoint(project, branch, endpoint);
            h.idleAgent(NodeId.of("agent-bench"));
            LambdaHandlers functions = ControlPlaneFunctions.on(h.controlPlane);
            List<Double> wakes = new ArrayList<>();
            List<Double> suspends = new ArrayList<>();
            for (int i = 0; i < warmup + n; i++) {
                OperationId w = OperationId.of("op-benchwake" + i);
                h.schedule(w, OperationKind.START_COMPUTE, project, endpoint);
                long s = System.nanoTime();
                ExecutionResult r = sfn.run(Workflow.WAKE, "{\"operationId\": \"" + w + "\", \"endpointId\": \""
                        + endpoint + "\", \"projectId\": \"" + project + "\", \"branchId\": \"" + branch + "\", \"recoversExecution\": \"\"}",
                        functions, opts);
                double wakeMs = (System.nanoTime() - s) / 1e6;
                check(r);
                OperationId p = OperationId.of("op-benchsuspend" + i);
                h.schedule(p, OperationKind.SUSPEND_COMPUTE, project, endpoint);
                s = System.nanoTime();
                r = sfn.run(Workflow.SUSPEND, "{\"operationId\": \"" + p + "\", \"endpointId\": \"" + endpoint
                        + "\", \"agentId\": \"agent-bench\", \"recoversExecution\": \"\"}", functions, opts);
                double suspendMs = (System.nanoTime() - s) / 1e6;
                check(r);
                if (i >= warmup) {
                    wakes.add(wakeMs);
                    suspends.add(suspendMs);
                }
            }
            report("wake (real handlers, dynalite)", wakes);
            report("suspend (real, dynalite)", suspends);
        }
    }

    private static void check(ExecutionResult r) {
        if (!r.succeeded()) {
            throw new IllegalStateException("execution failed: " + r.error() + " " + r.cause());
        }
    }

    private static List<Double> measure(int n, int warmup, java.util.function.Supplier<ExecutionResult> run) {
        List<Double> ms = new ArrayList<>();
        for (int i = 0; i < warmup + n; i++) {
            long s = System.nanoTime();
            ExecutionResult r = run.get();
            double d = (System.nanoTime() - s) / 1e6;
            if (!r.succeeded()) {
                throw new IllegalStateException("execution failed: " + r.error() + " " + r.cause());
            }
            if (i >= warmup) {
                ms.add(d);
            }
        }
        return ms;
    }

    private static void report(String what, List<Double> ms) {
        List<Double> sorted = new ArrayList<>(ms);
        Collections.sort(sorted);
        double mean = sorted.stream().mapToDouble(Double::doubleValue).average().orElse(0);
        System.out.printf("%-32s n=%d p50=%.1f ms p99=%.1f ms mean=%.1f ms%n", what, sorted.size(),
                sorted.get(sorted.size() / 2), sorted.get((int) Math.min(sorted.size() - 1, Math.ceil(sorted.size() * 0.99) - 1)), mean);
    }
}
