#!/usr/bin/env bash
# Non-page ingest cost on one thread: N commit records (CLOG operations + CheckPoint changes)
# through WalIngest, then reading a CLOG page built from 32 768 operations through redo.
#   bench/ingest-metadata.sh [N=500000]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
strata_java_env
mkdir -p bench/out
mvn -q -o -pl pageserver-service -am test-compile dependency:build-classpath \
    -Dmdep.outputFile="$PWD/bench/out/pageserver-classpath.txt" >/dev/null
CP="pageserver-service/target/test-classes:pageserver-service/target/classes:pgcore/target/classes:$(cat bench/out/pageserver-classpath.txt)"
exec java -Xmx2g --enable-native-access=ALL-UNNAMED -cp "$CP" dev.strata.pageserver.ingest.IngestMetadataBench "${1:-500000}"
