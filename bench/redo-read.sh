#!/usr/bin/env bash
# Reads with Java redo after pgbench (issue 14): a PG17 with the compute's current wal_consistency_checking
# (ComputeSettings.WAL_CONSISTENCY_CHECKING, read by the bench; '' today) runs pgbench; its WAL is ingested
# into an imported timeline; every page of the database is then read through PageserverRedo, one thread,
# twice. Prints pages/s, records replayed/s, mean chain. In-process (LayerStore.getValue), not the page
# service: GetPage over loopback with realistic chains is bench/getpage-redo.sh.
#   bench/redo-read.sh [--scale 5] [--transactions 20000] [--wal-consistency-checking compute]
# Needs pgbench (Debian's pgbench 15 works against PG17).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
strata_java_env
mkdir -p bench/out
mvn -q -pl pageserver-service -am test-compile dependency:build-classpath \
    -Dmdep.outputFile="$PWD/bench/out/pageserver-classpath.txt" >/dev/null
CP="pageserver-service/target/test-classes:pageserver-service/target/classes:pgcore/target/classes:$(cat bench/out/pageserver-classpath.txt)"
exec java -Xmx1g --enable-native-access=ALL-UNNAMED -cp "$CP" dev.strata.pageserver.bench.RedoReadBench "$@"
