#!/usr/bin/env bash
# Basebackup throughput: a PG17 cluster of a few hundred MB (pgbench -i -s SCALE, stopped
# cleanly) is imported into a LayerStore with the initdb import path (one delta layer file),
# then the basebackup at the import LSN is streamed PASSES times to a discarding sink and
# once to a file; prints MB/s of tar bytes. The cluster is kept in bench/out for reruns.
#   bench/basebackup.sh [SCALE=20] [PASSES=3]      (scale 20 is about 320 MB)
# Needs /usr/bin/pgbench (Debian's pgbench 15 works against PG17).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
strata_java_env
mkdir -p bench/out
mvn -q -pl pageserver-service -am test-compile dependency:build-classpath \
    -Dmdep.outputFile="$PWD/bench/out/pageserver-classpath.txt" >/dev/null
CP="pageserver-service/target/test-classes:pageserver-service/target/classes:pgcore/target/classes:pgcore/target/test-classes:$(cat bench/out/pageserver-classpath.txt)"
exec java -Xmx3g --enable-native-access=ALL-UNNAMED -cp "$CP" dev.strata.pageserver.basebackup.BasebackupBench bench/out "${1:-20}" "${2:-3}"
