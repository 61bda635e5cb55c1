#!/usr/bin/env bash
# GetPage@LSN on a branch at depth 3 against the same reads on its root, in alternating rounds
# (issue 16): p50/p99 per round and the median of the per-round ratios.
#   bench/branch-read.sh [--rows 200000] [--rounds 5] [--seconds 2]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
strata_java_env
mkdir -p bench/out
mvn -q -pl pageserver-service -am test-compile dependency:build-classpath \
    -Dmdep.outputFile="$PWD/bench/out/pageserver-classpath.txt" >/dev/null
CP="pageserver-service/target/test-classes:pageserver-service/target/classes:pgcore/target/classes:pgcore/target/test-classes"
CP="$CP:remote-storage/target/classes:remote-storage/target/test-classes:$(cat bench/out/pageserver-classpath.txt)"
exec java -Xmx2g --enable-native-access=ALL-UNNAMED -cp "$CP" dev.strata.pageserver.bench.BranchReadBench "$@"
