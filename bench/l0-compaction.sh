#!/usr/bin/env bash
# Read amplification before and after L0 -> L1 compaction (issue 16 item 5), in one run: synthetic
# puts through LayerStore (8 KiB page images as a base, image-compacted; then LAYERS L0 delta layers
# of random page updates, FPI percent of them full-page images, the rest 100-byte records); a
# sample of random pages read at the last LSN: layers visited and records replayed per GetPage
# (mean, p99) and latency p50/p99; then L0 -> L1 compaction (timed) and the same sample again.
# The layers a read visits are the layers a first read after an attach from S3 downloads.
# Small by default (~300 MB of disk, a minute); the machine is shared. Not run in CI.
#   bench/l0-compaction.sh [--pages 8192] [--layers 20] [--updates 4000] [--fpi 10] [--sample 5000] [--target-mb 8]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
strata_java_env
mkdir -p bench/out
mvn -q -pl pageserver-service -am test-compile dependency:build-classpath \
    -Dmdep.outputFile="$PWD/bench/out/pageserver-classpath.txt" >/dev/null
CP="pageserver-service/target/test-classes:pageserver-service/target/classes:pgcore/target/classes:pgcore/target/test-classes"
CP="$CP:remote-storage/target/classes:$(cat bench/out/pageserver-classpath.txt)"
echo "uptime before: $(uptime)"
java -Xmx1g --enable-native-access=ALL-UNNAMED -cp "$CP" dev.strata.pageserver.bench.Level0CompactionBench "$@"
echo "uptime after: $(uptime)"
