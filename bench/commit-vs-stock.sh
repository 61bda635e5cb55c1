#!/usr/bin/env bash
# Issue 14's two figures against stock PostgreSQL in one run: pgbench TPS and mean latency, and
# WAL bytes per transaction (pg_current_wal_lsn before/after each round / transactions), of
# (A) a stock PG17 single node with local fsync (fsync=on, synchronous_commit=on, no standby,
# every other setting copied from the compute, same binary, same disk) and (B) the Strata commit
# path as `strata up` runs it: a compute with ComputeSettings.forCompute (fsync=off, ANY 2 of 3
# safekeepers, wal_consistency_checking empty) over 3 safekeepers and a pageserver ingesting, each
# its own JVM by default (--cluster-jvms one: all in one JVM, like plain `strata up`). Warm-up,
# then TPS rounds (-T) alternating A,B, then WAL rounds (-t per client: the same transactions on
# both sides after a CHECKPOINT, since WAL/txn after a checkpoint falls with the number of
# transactions) alternating A,B, split by resource manager (pg_walinspect). Prints the settings of
# both, per-round figures, medians, the median of the per-round ratios B/A (goals: tps >= 0.9x,
# WAL/txn <= 1.3x) and the CPU per component (--profile true: per JVM thread). Not part of CI.
# About 12 minutes with defaults on 2 busy cores. Data under bench/out/commit-vs-stock (deleted at start).
#   bench/commit-vs-stock.sh [--duration 30] [--clients 8] [--threads 2] [--scale 10] [--rounds 3]
#                            [--warmup 15] [--wal-transactions 500] [--builtin tpcb-like|simple-update]
#                            [--cluster-jvms separate|one] [--profile false] [--pgbench /usr/bin/pgbench]
#                            [--pageserver running|killed]   (killed: after set-up, to take its cost out of B)
#                            [--dir bench/out/commit-vs-stock]
# bench/support/commit-syscalls.sh DIR OUT beside it counts B's system calls per process.
# Needs pgbench (Debian's pgbench 15 works against PG17).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
strata_java_env
mkdir -p bench/out
mvn -q -B -ntp -o -pl cli -am test-compile dependency:build-classpath \
    -Dmdep.outputFile="$PWD/bench/out/cli-classpath.txt" >/dev/null
CP="cli/target/test-classes:cli/target/classes:pgcore/target/test-classes"
for m in pgcore remote-storage safekeeper-service pageserver-service compute-node compute-wakeup functions \
         state-machines control-api; do
    CP="$CP:$m/target/classes"
done
CP="$CP:$(cat bench/out/cli-classpath.txt)"
exec java --enable-native-access=ALL-UNNAMED -Xmx2g -XX:MaxDirectMemorySize=1g \
    -Dorg.slf4j.simpleLogger.logFile=bench/out/commit-vs-stock.log \
    -cp "$CP" dev.strata.cli.bench.CommitVsStockBench "$@"
