#!/usr/bin/env bash
# Time from asking for a compute to the first query result, through the local cluster's
# proxy, on a database of --size-mb MB (default 1024): wakes of a suspended compute (its data
# directory reused) and cold starts (full basebackup, whose MB/s is printed too).
#   bench/compute-start.sh [--size-mb N] [--wakes N] [--cold N]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
strata_java_env
mkdir -p bench/out
mvn -q -B -ntp -pl cli -am test-compile dependency:build-classpath \
    -Dmdep.outputFile="$PWD/bench/out/cli-classpath.txt" >/dev/null
CP="cli/target/test-classes:cli/target/classes"
for m in pgcore safekeeper-service pageserver-service compute-node compute-wakeup; do CP="$CP:$m/target/classes"; done
CP="$CP:$(cat bench/out/cli-classpath.txt)"
exec java --enable-native-access=ALL-UNNAMED -Xmx2g -Dorg.slf4j.simpleLogger.logFile=bench/out/compute-start.log \
    -cp "$CP" dev.strata.cli.bench.ComputeStartBench "$@"
