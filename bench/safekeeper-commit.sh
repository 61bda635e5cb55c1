#!/usr/bin/env bash
# Commit cost of our safekeepers against stock standbys (issue 3): pgbench TPS and mean
# latency of a PG17 compute with synchronous_standby_names = 'ANY 2 ("sk-1", "sk-2", "sk-3")' over
# (A) three stock PG17 standbys and (B) three Strata safekeepers, both on this machine, runs
# alternating A,B,A,B; prints the medians and the ratio B/A. About 4 minutes with defaults.
#   bench/safekeeper-commit.sh [--duration 30] [--clients 8] [--threads 2] [--scale 10]
#                              [--rounds 2] [--warmup 10] [--builtin simple-update|tpcb-like]
# Needs pgbench (Debian's pgbench 15 works against PG17). Data under bench/out/safekeeper-commit.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
strata_java_env
mkdir -p bench/out
# -am builds pgcore in the same reactor (never mvn install); the last module written,
# safekeeper-service, leaves its classpath (pgcore as pgcore/target/classes) in the file.
mvn -q -pl safekeeper-service -am test-compile dependency:build-classpath \
    -Dmdep.outputFile="$PWD/bench/out/safekeeper-classpath.txt" >/dev/null
CP="safekeeper-service/target/test-classes:safekeeper-service/target/classes:$(cat bench/out/safekeeper-classpath.txt)"
exec java -Xmx1g --enable-native-access=ALL-UNNAMED -cp "$CP" dev.strata.safekeeper.it.CommitBench "$@"
