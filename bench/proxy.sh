#!/usr/bin/env bash
# The proxy's cost (issues 6 and 12): wake latency p50/p99 over >= 20 wakes of a suspended
# endpoint (pgjdbc connect through the proxy to the first row), and pgbench -S direct, through
# the Strata proxy and through PgBouncer (session mode) in front of the same PG17 compute, in
# one run with the order rotated each round: TPS and p99 latency per client count, and the
# median of the per-round ratios (goal: proxy >= 1.0x PgBouncer's TPS, added p99 <= its).
# About 5 minutes with defaults.
#   bench/proxy.sh [--wakes 20] [--duration 10] [--clients 1,4] [--threads 2] [--scale 10] [--rounds 3]
#                  [--warmup 5] [--io-threads 2] [--pgbouncer /usr/sbin/pgbouncer ('' to leave it out)]
# Needs pgbench (Debian's pgbench 15 works against PG17) and pgbouncer (installed here with
# apt-get when missing and we are root).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
strata_java_env
if ! command -v pgbouncer >/dev/null && [ ! -x /usr/sbin/pgbouncer ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bench/proxy.sh: installing Debian's pgbouncer (apt-get)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbouncer >/dev/null || {
      apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbouncer >/dev/null; }
  else
    echo "bench/proxy.sh: pgbouncer is missing (apt-get install pgbouncer), or pass --pgbouncer ''" >&2
    exit 1
  fi
fi
mkdir -p bench/out
# -am builds pgcore in the same reactor (never mvn install); compute-wakeup, built last,
# leaves its classpath in the file.
mvn -q -pl compute-wakeup -am test-compile dependency:build-classpath \
    -Dmdep.outputFile="$PWD/bench/out/proxy-classpath.txt" >/dev/null
CP="compute-wakeup/target/test-classes:compute-wakeup/target/classes:$(cat bench/out/proxy-classpath.txt)"
exec java -Xmx1g --enable-native-access=ALL-UNNAMED -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$CP" dev.strata.proxy.bench.ProxyBench "$@"
