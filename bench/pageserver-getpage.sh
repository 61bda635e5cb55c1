#!/usr/bin/env bash
# Pageserver throughput (issue 4): (1) WAL ingest in MB/s: a PG17 primary with
# wal_consistency_checking=all writes WAL (INSERT of ROWS rows, then UPDATE of a third), then a
# timeline streams it from the primary's walsender and ingests it; (2) GetPage@LSN over loopback
# on the hot layers: after a warm-up, three rounds of depth 1 (latency p50/p99) and pipelined
# depth 32 (throughput), each SECONDS/2 long.
# "Per core" = pages / server CPU seconds, where server CPU = the JVM's CPU minus the client's
# threads' CPU (ThreadMXBean; JIT and GC stay charged to the server); pages / whole-JVM CPU is
# printed too. Goal: >= 50 000 pages/s per core, p99 < 1 ms.
#   bench/pageserver-getpage.sh [ROWS=300000] [SECONDS=10]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
strata_java_env
mkdir -p bench/out
mvn -q -pl pageserver-service -am test-compile dependency:build-classpath \
    -Dmdep.outputFile="$PWD/bench/out/pageserver-classpath.txt" >/dev/null
CP="pageserver-service/target/test-classes:pageserver-service/target/classes:pgcore/target/classes:pgcore/target/test-classes:$(cat bench/out/pageserver-classpath.txt)"
exec java -Xmx2g --enable-native-access=ALL-UNNAMED -cp "$CP" dev.strata.pageserver.bench.PageserverBench "$@"
