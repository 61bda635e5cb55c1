#!/usr/bin/env python3
"""Where one JVM thread's wall time goes, from a JFR recording (bench/safekeeper-throughput.sh --profile).

Reads `jfr print --json --events jdk.ExecutionSample,jdk.NativeMethodSample` of the recording,
keeps the samples of threads whose name matches a pattern, and counts them by top frame and by
the first frame of the project (dev.strata.*), so Java CPU (ExecutionSample) and time blocked
in native calls (NativeMethodSample: fsync, pwrite, epoll) appear side by side.
Usage: jfr-thread-profile.py JFR_BIN RECORDING THREAD_REGEX [TOP]
"""
import json, re, subprocess, sys, collections

jfr, rec, pattern = sys.argv[1], sys.argv[2], re.compile(sys.argv[3])
top = int(sys.argv[4]) if len(sys.argv) > 4 else 12
out = subprocess.run([jfr, "print", "--json", "--stack-depth", "64", "--events",
                      "jdk.ExecutionSample,jdk.NativeMethodSample", rec], capture_output=True, text=True, check=True).stdout
events = json.loads(out)["recording"]["events"]

def name(frame):
    m = frame["method"]
    return (m["type"]["name"] + "." + m["name"]).replace("/", ".")

by_kind = collections.Counter()
tops = collections.Counter()
ours = collections.Counter()
threads = collections.Counter()
for e in events:
    v = e["values"]
    t = v.get("sampledThread") or {}
    tname = t.get("javaName") or t.get("osName") or ""
    if not pattern.search(tname):
        continue
    kind = "cpu" if e["type"] == "jdk.ExecutionSample" else "native"
    frames = (v.get("stackTrace") or {}).get("frames") or []
    if not frames:
        continue
    threads[tname] += 1
    by_kind[kind] += 1
    tops[(kind, name(frames[0]))] += 1
    mine = next((name(f) for f in frames if name(f).startswith("dev.strata")), "(none)")
    ours[(kind, mine)] += 1
print("threads:", dict(threads))
print("samples:", dict(by_kind), "(ExecutionSample every 10 ms of Java CPU, NativeMethodSample every 20 ms in native)")
print("-- top frame --")
for (k, n), c in tops.most_common(top):
    print(f"{c:6d} {k:6s} {n}")
print("-- first dev.strata frame --")
for (k, n), c in ours.most_common(top):
    print(f"{c:6d} {k:6s} {n}")
