#!/usr/bin/env bash
# History in S3 (issue 13), on loopback against the embedded S3Proxy (filesystem store):
# MB megabytes of random 8 KiB page images in delta layers of LAYER_MB are flushed and uploaded
# by the timeline uploader; then the pageserver's directory is deleted and the timeline is
# attached from S3 on an empty disk (index only). Prints put+flush and upload rates, attach time
# and the time to the first GetPage (one layer downloaded on demand), the full download rate
# (one GetPage per 8 MiB of pages), and S3 requests per GB uploaded and downloaded. Not run by the tests.
#   bench/pageserver-s3.sh [MB=512] [LAYER_MB=64] [l0|l1]   (e.g. 10240 256 for a 10 GB timeline;
#   l1: compact the L0 layers into L1 layers by key range before the attach, as the flusher does)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
strata_java_env
mkdir -p bench/out
mvn -q -o -pl pageserver-service -am test-compile dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile="$PWD/bench/out/pageserver-s3-classpath.txt" >/dev/null
CP="pageserver-service/target/test-classes:pageserver-service/target/classes:pgcore/target/classes:pgcore/target/test-classes:$(cat bench/out/pageserver-s3-classpath.txt)"
exec java -Xmx3g --enable-native-access=ALL-UNNAMED -cp "$CP" dev.strata.pageserver.bench.RemoteStorageBench "$@"
