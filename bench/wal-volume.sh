#!/usr/bin/env bash
# WAL bytes per pgbench transaction (issue 14): a stock PG17, wal_consistency_checking=all (every
# Strata compute before Java redo) and the compute's current list (ComputeSettings.WAL_CONSISTENCY_CHECKING,
# read by the bench; '' today, so it matches stock; --wal-consistency-checking LIST to try another), one
# after the other on this machine; prints bytes/transaction and the ratios to stock. About 2 minutes with defaults.
#   bench/wal-volume.sh [--scale 10] [--transactions 20000] [--clients 4] [--builtin tpcb-like]
#                       [--wal-consistency-checking compute]
# Needs pgbench (Debian's pgbench 15 works against PG17).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
strata_java_env
mkdir -p bench/out
mvn -q -pl pageserver-service -am test-compile dependency:build-classpath \
    -Dmdep.outputFile="$PWD/bench/out/pageserver-classpath.txt" >/dev/null
CP="pageserver-service/target/test-classes:pageserver-service/target/classes:pgcore/target/classes:$(cat bench/out/pageserver-classpath.txt)"
exec java -Xmx512m --enable-native-access=ALL-UNNAMED -cp "$CP" dev.strata.pageserver.bench.WalVolumeBench "$@"
