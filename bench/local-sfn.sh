#!/usr/bin/env bash
# The local Step Functions engine's per-execution overhead (issue 15): aws-local-stepfunctions in one
# Node 22 driver process, Lambda tasks routed to Java handlers over the loopback endpoint. Prints the
# engine start and p50/p99/mean of a one-state Pass machine and of the wake workflow with stand-in
# handlers that return at once, and wake/suspend cycles with the real handlers over dynalite. About
# 60 s with defaults.
#   bench/local-sfn.sh [executions 200] [warmup 30]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
strata_java_env
mkdir -p bench/out
# -am builds pgcore in the same reactor (never mvn install); state-machines, built last, leaves its classpath.
mvn -q -o -pl state-machines -am test-compile dependency:build-classpath \
    -Dmdep.outputFile="$PWD/bench/out/local-sfn-classpath.txt" >/dev/null
CP="state-machines/target/test-classes:state-machines/target/classes:$(cat bench/out/local-sfn-classpath.txt)"
exec java -Xmx512m -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$CP" dev.strata.statemachines.LocalStepFunctionsBench "$@"
