#!/usr/bin/env bash
# Safekeeper WAL offload (issue 13 item 4), on loopback against the embedded S3Proxy (filesystem
# store): SEGMENTS segments of 16 MiB (random bytes) are uploaded one after another as the
# offloader does (read the segment file, CRC-32C, PUT with the checksum), then downloaded as a
# walsender or a recovering peer reads them (LIST, GET, size and CRC-32C check). Prints MB/s of
# each. Not run by the tests.
#   bench/safekeeper-offload.sh [SEGMENTS=32]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
strata_java_env
mkdir -p bench/out
mvn -q -o -pl safekeeper-service -am test-compile dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile="$PWD/bench/out/safekeeper-offload-classpath.txt" >/dev/null
CP="safekeeper-service/target/test-classes:safekeeper-service/target/classes:pgcore/target/classes:remote-storage/target/classes:remote-storage/target/test-classes:$(cat bench/out/safekeeper-offload-classpath.txt)"
exec java -Xmx2g --enable-native-access=ALL-UNNAMED -cp "$CP" dev.strata.safekeeper.offload.OffloadBench "$@"
