#!/usr/bin/env bash
# WAL decoding throughput: generates >= 1 GB of real PG17 WAL (TPC-B-like load with
# wal_consistency_checking=all) into bench/out/ once, then decodes it on one thread with
# CRC checks and full-page-image restoration and prints MB/s.
#   bench/wal-decode.sh [WAL_MB=1100] [PASSES=3]     (rm -r bench/out to regenerate)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
strata_java_env
mkdir -p bench/out
mvn -q -pl pgcore test-compile dependency:build-classpath -Dmdep.outputFile="$PWD/bench/out/classpath.txt" >/dev/null
CP="pgcore/target/test-classes:pgcore/target/classes:$(cat bench/out/classpath.txt)"
exec java -Xmx2g --enable-native-access=ALL-UNNAMED -cp "$CP" dev.strata.pgcore.wal.WalDecodeBench bench/out "${1:-1100}" "${2:-3}"
