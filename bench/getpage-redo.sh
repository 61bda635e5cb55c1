#!/usr/bin/env bash
# GetPage with Java redo (issue 14): in one run, a PG17 primary with the compute's WAL settings
# (wal_consistency_checking from ComputeSettings, i.e. '' today: every record replayed in Java;
# full_page_writes on; checkpoints and autovacuum at PostgreSQL's defaults) streams into a WAL-only
# timeline of an in-process pageserver (default storage config: chain cap, flushes, image
# compaction as the pageserver runs them) while it runs pgbench -i -s SCALE then pgbench -T DURATION
# (tpcb-like, "pgbench after 10 minutes" with the defaults). Then, at the last LSN (primary stopped):
#  - the chains of a fixed sample of random blocks of the pgbench tables and indexes, read
#    in-process: records replayed per page (mean/p50/p99/max), bytes replayed, and redo throughput
#    in records/s per core (time inside PageserverRedo.apply);
#  - GetPage over the page service on loopback, random blocks of those relations: depth 1
#    (p50/p99 latency) and pipelined depth 32 (pages/s; per server core = pages / server CPU
#    seconds, as in bench/pageserver-getpage.sh), ROUNDS rounds of SECONDS/2 each, WITH REDO;
#  - the same again IMAGE-ONLY: the same pages at the same LSN after an image compaction with
#    threshold 1 puts an image layer at that LSN under every key (pageserver closed, store
#    compacted, pageserver restarted on the same directory).
# Goals: with redo p99 < 1 ms at depth 1, >= 50 000 pages/s per core at depth 32.
# About DURATION + 3 minutes. Not run in CI. Prints `uptime` before and after.
#   bench/getpage-redo.sh [--scale 10] [--duration 600] [--clients 4] [--jobs 2] [--seconds 10] [--rounds 3]
#                         [--sample 20000] [--wal-consistency-checking compute] [--pgbench /usr/bin/pgbench]
# Needs pgbench (Debian's pgbench 15 works against PG17). JVM_EXTRA (env) adds JVM options, e.g.
# JVM_EXTRA="-XX:StartFlightRecording=filename=bench/out/getpage-redo.jfr,settings=profile".
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
strata_java_env
mkdir -p bench/out
mvn -q -pl pageserver-service -am test-compile dependency:build-classpath \
    -Dmdep.outputFile="$PWD/bench/out/pageserver-classpath.txt" >/dev/null
CP="pageserver-service/target/test-classes:pageserver-service/target/classes:pgcore/target/classes:pgcore/target/test-classes:$(cat bench/out/pageserver-classpath.txt)"
echo "uptime before: $(uptime)"
# shellcheck disable=SC2086
java -Xmx2g --enable-native-access=ALL-UNNAMED ${JVM_EXTRA:-} -cp "$CP" dev.strata.pageserver.bench.GetPageRedoBench "$@"
echo "uptime after: $(uptime)"
