#!/usr/bin/env bash
# The proxy's cost (issue 6): wake latency p50/p99 over >= 20 wakes of a suspended endpoint
# (pgjdbc connect through the proxy to the first row), and pgbench -S TPS through the proxy
# vs direct to the same PG17 compute, alternating in one run, as a ratio (goal >= 0.9).
# About 1.5 minutes with defaults.
#   bench/proxy.sh [--wakes 20] [--duration 10] [--clients 4] [--threads 2] [--scale 10] [--rounds 2]
#                  [--warmup 5] [--io-threads 2]
# Needs pgbench (Debian's pgbench 15 works against PG17).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
strata_java_env
mkdir -p bench/out
# -am builds pgcore in the same reactor (never mvn install); compute-wakeup, built last,
# leaves its classpath in the file.
mvn -q -pl compute-wakeup -am test-compile dependency:build-classpath \
    -Dmdep.outputFile="$PWD/bench/out/proxy-classpath.txt" >/dev/null
CP="compute-wakeup/target/test-classes:compute-wakeup/target/classes:$(cat bench/out/proxy-classpath.txt)"
exec java -Xmx1g --enable-native-access=ALL-UNNAMED -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$CP" dev.strata.proxy.bench.ProxyBench "$@"
