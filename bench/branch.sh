#!/usr/bin/env bash
# Branch create and restore times against the database's size, with stock PostgreSQL's
# CREATE DATABASE ... TEMPLATE (file copy) measured in the same rounds as the baseline.
#   bench/branch.sh [--sizes-mb 100,1024] [--rounds 10]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
strata_java_env
mkdir -p bench/out
mvn -q -B -ntp -pl cli -am test-compile dependency:build-classpath \
    -Dmdep.outputFile="$PWD/bench/out/cli-classpath.txt" >/dev/null
CP="cli/target/test-classes:cli/target/classes:pgcore/target/test-classes"
for m in pgcore remote-storage safekeeper-service pageserver-service compute-node compute-wakeup functions; do
    CP="$CP:$m/target/classes"
done
CP="$CP:$(cat bench/out/cli-classpath.txt)"
exec java --enable-native-access=ALL-UNNAMED -Xmx2g -Dorg.slf4j.simpleLogger.logFile=bench/out/branch.log \
    -cp "$CP" dev.strata.cli.bench.BranchBench "$@"
