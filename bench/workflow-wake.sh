#!/usr/bin/env bash
# Wake through the control plane's real path: the suspend and wake workflows on the local ASL
# engine with the real handlers on dynalite, a compute agent over its HTTP API and the local
# cluster's storage; each wake split into the agent's start and the rest, against a stock
# PostgreSQL 17 restart to the first row in the same rounds (median of the per-round ratios).
#   bench/workflow-wake.sh [--size-mb N] [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
strata_java_env
mkdir -p bench/out
mvn -q -B -ntp -pl cli -am test-compile dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile="$PWD/bench/out/cli-test-classpath.txt" >/dev/null
CP="cli/target/test-classes:cli/target/classes"
for m in pgcore remote-storage safekeeper-service pageserver-service compute-node compute-wakeup functions state-machines; do
  CP="$CP:$m/target/classes"
done
CP="$CP:$(cat bench/out/cli-test-classpath.txt)"
exec java --enable-native-access=ALL-UNNAMED -Xmx2g -Dorg.slf4j.simpleLogger.logFile=bench/out/workflow-wake.log \
    -cp "$CP" dev.strata.cli.bench.WorkflowWakeBench "$@"
