#!/bin/sh
# Entry point of every Strata service image: turns the secrets ECS injects as environment variables
# into files readable only by the service (nothing secret on a command line), then runs the
# service's main class. Usage: strata-service <safekeeper|pageserver|proxy|proxy-aws|compute-agent> [options]
set -eu
svc=${1:?usage: strata-service SERVICE [options]}
shift
umask 077
run=${STRATA_RUN_DIR:-/tmp/strata}
mkdir -p "$run"
if [ -n "${STRATA_AUTH_PUBLIC_KEYS:-}" ]; then
  printf '%s' "$STRATA_AUTH_PUBLIC_KEYS" > "$run/public_keys.jwks"
  unset STRATA_AUTH_PUBLIC_KEYS
  set -- --auth-public-keys "$run/public_keys.jwks" "$@"
fi
if [ -n "${STRATA_SERVICE_TOKEN:-}" ]; then
  printf '%s' "$STRATA_SERVICE_TOKEN" > "$run/service.token"
  unset STRATA_SERVICE_TOKEN
  set -- --token-file "$run/service.token" "$@"
fi
case "$svc" in
  safekeeper) main=dev.strata.safekeeper.SafekeeperMain ;;
  pageserver)
    main=dev.strata.pageserver.PageserverMain
    # A new attach generation at every start (decision 0016): epoch seconds grow across
    # replacements and fit the 8 hex digits until 2106.
    if [ -n "${STRATA_PAGESERVER_REMOTE_STORAGE_BUCKET:-}" ]; then
      set -- "$@" --generation "$(date +%s)"
    fi ;;
  proxy|proxy-aws)
    # proxy: fixed --endpoint ID=HOST:PORT; proxy-aws: the control plane's wake (decision 0034).
    if [ "$svc" = proxy-aws ]; then main=dev.strata.controlapi.wake.AwsProxyMain; else main=dev.strata.proxy.ProxyMain; fi
    mkdir -p "$run/tls"
    printf '%s\n' "${STRATA_TLS_CERTIFICATE:?the proxy needs its certificate}" > "$run/tls/server.crt"
    printf '%s\n' "${STRATA_TLS_PRIVATE_KEY:?the proxy needs its private key}" > "$run/tls/server.key"
    unset STRATA_TLS_CERTIFICATE STRATA_TLS_PRIVATE_KEY
    set -- --tls-dir "$run/tls" --require-tls "$@" ;;
  compute-agent)
    main=dev.strata.compute.agent.ComputeAgentMain
    # The address the proxy and the safekeepers reach this task's Postgres at (awsvpc: the task's ENI).
    case " $* " in
      *" --advertise-host "*) ;;
      *) set -- "$@" --advertise-host "$(hostname -i | awk '{print $1}')" ;;
    esac ;;
  *) echo "strata-service: unknown service '$svc'" >&2; exit 64 ;;
esac
exec java -XX:MaxRAMPercentage=75 -XX:+ExitOnOutOfMemoryError -cp '/opt/strata/lib/*' "$main" "$@"
