#!/usr/bin/env bash
# History in S3 against the compute's WAL rate (issue 13): `pgbench -i -s SCALE` through the proxy
# of a local cluster in one JVM (safekeepers and pageserver in process, S3Proxy on loopback),
# sampling the compute's WAL insert LSN against the pageserver's remote-consistent LSN and layer
# bytes uploaded and the safekeepers' offloaded LSN; then waits until S3 has caught up. Prints
# average and peak WAL MB/s against upload and offload MB/s, the lag at the load's end, the
# catch-up time, and every S3 request (counted in the AWS SDK) per GB of WAL.
# Not part of CI. Disk: about 8x the WAL (compute, 3 safekeepers, layers, S3), e.g. ~20 GB at -s 100.
#   bench/s3-ingest.sh [--scale 50] [--pgbench /usr/bin/pgbench] [--catch-up-timeout-s 900]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
strata_java_env
mkdir -p bench/out
mvn -q -B -ntp -o -pl cli -am test-compile dependency:build-classpath \
    -Dmdep.outputFile="$PWD/bench/out/cli-classpath.txt" >/dev/null
# The AWS SDK loads global interceptors named in this classpath file: S3RequestCounter counts
# every request of the pageserver's and the safekeepers' clients (bench only, never the tests).
INTERCEPTORS=bench/out/s3-ingest-interceptors
mkdir -p "$INTERCEPTORS/software/amazon/awssdk/global/handlers"
echo dev.strata.cli.bench.S3RequestCounter >"$INTERCEPTORS/software/amazon/awssdk/global/handlers/execution.interceptors"
CP="$INTERCEPTORS:cli/target/test-classes:cli/target/classes:pgcore/target/test-classes"
for m in pgcore remote-storage safekeeper-service pageserver-service compute-node compute-wakeup functions; do
    CP="$CP:$m/target/classes"
done
CP="$CP:$(cat bench/out/cli-classpath.txt)"
exec java --enable-native-access=ALL-UNNAMED -Xmx3g -Dorg.slf4j.simpleLogger.logFile=bench/out/s3-ingest.log \
    -cp "$CP" dev.strata.cli.bench.S3IngestBench "$@"
