#!/usr/bin/env bash
# Wake through the proxy on the path `strata up` runs (decision 0029): the proxy's idle sweep
# suspends the main endpoint through the suspend workflow, the next connection wakes it through
# the wake workflow on the local ASL engine and the control plane's agents; each wake split into
# the START_COMPUTE operation and the rest.
#   bench/proxy-wake.sh [--size-mb N] [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
strata_java_env
mkdir -p bench/out
mvn -q -B -ntp -pl cli -am test-compile dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile="$PWD/bench/out/cli-test-classpath.txt" >/dev/null
CP="cli/target/test-classes:cli/target/classes"
for m in pgcore remote-storage safekeeper-service pageserver-service compute-node compute-wakeup functions state-machines control-api; do
  CP="$CP:$m/target/classes"
done
CP="$CP:$(cat bench/out/cli-test-classpath.txt)"
exec java --enable-native-access=ALL-UNNAMED -Xmx2g -Dorg.slf4j.simpleLogger.logFile=bench/out/proxy-wake.log \
    -cp "$CP" dev.strata.cli.bench.ProxyWakeBench "$@"
