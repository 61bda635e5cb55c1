# Sourced by Strata's scripts: selects a JDK >= 21 and makes sure Maven is there.
# Order: $JAVA_HOME if it is new enough, the default `java`, then JDKs under /usr/lib/jvm.

strata_java_major() {
  "$1/bin/java" -XshowSettings:properties -version 2>&1 \
    | awk -F'= ' '/java.specification.version/ {print $2; exit}' | cut -d. -f1
}

strata_select_jdk() {
  local candidates=() c major
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  if command -v java >/dev/null 2>&1; then
    candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
  fi
  for c in /usr/lib/jvm/*; do [ -x "$c/bin/javac" ] && candidates+=("$c"); done
  for c in "${candidates[@]}"; do
    [ -x "$c/bin/javac" ] || continue
    major=$(strata_java_major "$c")
    if [ -n "$major" ] && [ "$major" -ge 21 ] 2>/dev/null; then
      export JAVA_HOME="$c"
      STRATA_JAVA_MAJOR="$major"
      export PATH="$JAVA_HOME/bin:$PATH"
      return 0
    fi
  done
  echo "strata: no JDK 21 or newer found (looked at \$JAVA_HOME, java on PATH, /usr/lib/jvm/*)." >&2
  echo "strata: install one (e.g. Temurin 21+ or OpenJDK 21+) and set JAVA_HOME to it." >&2
  return 1
}

strata_ensure_maven() {
  command -v mvn >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "strata: Maven is missing; installing it with apt-get" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven >/dev/null || return 1
    return 0
  fi
  echo "strata: Maven 3.8+ is needed (apt-get install maven, or see https://maven.apache.org)." >&2
  return 1
}

# PostgreSQL refuses to run as root; as root, Strata runs it as the `postgres` OS user.
strata_ensure_postgres_user() {
  [ "$(id -u)" = 0 ] || return 0
  id postgres >/dev/null 2>&1 && return 0
  echo "strata: creating the unprivileged 'postgres' OS user to run PostgreSQL (it refuses to run as root)" >&2
  useradd --system --no-create-home --shell /usr/sbin/nologin postgres
}

strata_java_env() {
  strata_select_jdk && strata_ensure_maven && strata_ensure_postgres_user
  # Maven's bundled guava warns about sun.misc.Unsafe on JDK 24+; harmless noise.
  if [ "$STRATA_JAVA_MAJOR" -ge 24 ]; then
    export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
  fi
}
