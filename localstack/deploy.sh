#!/usr/bin/env bash
# Deploys the infra-cdk app to LocalStack and runs a smoke test (localstack/README.md).
#
#   localstack/deploy.sh            start LocalStack, bootstrap, deploy Strata-local, smoke test
#   localstack/deploy.sh --smoke    only the smoke test, against the running deployment
#   localstack/deploy.sh --down     stop LocalStack (its state goes with it)
#
# Needs Docker (with compose), Node.js >= 20 and npm, JDK 21 + Maven, the AWS CLI, jq, openssl and
# psql. The CDK CLI and cdklocal are installed, pinned, into localstack/.tools. The stack needs
# LocalStack Pro (LOCALSTACK_AUTH_TOKEN): ECS, EFS, ELBv2, Cloud Map and ECR are not in the
# community image, and without them the script stops before the deploy, saying so.
set -euo pipefail
shopt -s inherit_errexit  # a failing command inside $(...) stops the script too

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
tools="$here/.tools"

# Pinned: the CDK CLI that matches aws-cdk-lib 2.263.0 (docs/aws.md) and the cdklocal wrapper.
CDK_VERSION=2.1148.1
CDKLOCAL_VERSION=3.0.4

ENV_NAME=${STRATA_ENV:-local}
STACK="Strata-$ENV_NAME"
DOMAIN=${STRATA_DOMAIN:-db.localhost.localstack.cloud}
POOL_SIZE=${STRATA_POOL_SIZE:-1}
ENDPOINT=${AWS_ENDPOINT_URL:-http://localhost.localstack.cloud:4566}
WAIT_SECONDS=${STRATA_WAIT_SECONDS:-900}

# LocalStack's fixed test account and credentials; nothing here talks to AWS.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
export AWS_REGION=$AWS_DEFAULT_REGION
export AWS_ENDPOINT_URL="$ENDPOINT"
export CDK_DEFAULT_ACCOUNT=${LOCALSTACK_ACCOUNT:-000000000000} CDK_DEFAULT_REGION="$AWS_REGION"
REGION=$AWS_REGION
ACCOUNT=$CDK_DEFAULT_ACCOUNT

log() { printf '\n== %s\n' "$*"; }
die() { printf 'deploy.sh: %s\n' "$*" >&2; exit 1; }
awsl() { aws --endpoint-url "$ENDPOINT" --region "$REGION" --output json "$@"; }
compose() { docker compose -f "$here/docker-compose.yml" "$@"; }

check_prerequisites() {
    log "prerequisites"
    local missing=()
    for cmd in docker node npm java mvn aws jq openssl psql curl; do
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
    done
    [ ${#missing[@]} -eq 0 ] || die "missing on the PATH: ${missing[*]} (localstack/README.md, Prerequisites)"
    docker compose version >/dev/null 2>&1 || die "docker compose (the v2 plugin) is needed"
    docker info >/dev/null 2>&1 || die "the Docker engine does not answer (docker info failed)"
    local node_major
    node_major=$(node -p 'process.versions.node.split(".")[0]')
    [ "$node_major" -ge 20 ] || die "Node.js >= 20 is needed for the CDK (found $(node --version))"
    echo "docker, node $(node --version), java, mvn, aws, jq, openssl, psql: present"
}

install_tools() {
    if [ -x "$tools/node_modules/.bin/cdklocal" ] && [ -x "$tools/node_modules/.bin/cdk" ] \
        && [ "$("$tools/node_modules/.bin/cdk" --version 2>/dev/null | cut -d' ' -f1)" = "$CDK_VERSION" ]; then
        return
    fi
    log "installing aws-cdk@$CDK_VERSION and aws-cdk-local@$CDKLOCAL_VERSION into $tools"
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-fund --no-audit --save-exact \
        "aws-cdk@$CDK_VERSION" "aws-cdk-local@$CDKLOCAL_VERSION"
}

cdklocal() {
    # cdklocal finds the cdk CLI beside it on the PATH and points it at $AWS_ENDPOINT_URL.
    (cd "$repo/infra-cdk" && PATH="$tools/node_modules/.bin:$PATH" "$tools/node_modules/.bin/cdklocal" "$@")
}

start_localstack() {
    log "starting LocalStack (${LOCALSTACK_IMAGE:-localstack/localstack:4.7.0})"
    compose up -d
    local deadline=$((SECONDS + 180))
    until curl -fsS "$ENDPOINT/_localstack/health" >/dev/null 2>&1; do
        [ $SECONDS -lt $deadline ] || die "LocalStack did not answer on $ENDPOINT within 180 s (docker compose logs localstack)"
        sleep 2
    done
    echo "LocalStack answers on $ENDPOINT"
}

# The services the stack creates that LocalStack's community image lacks.
require_pro_services() {
    local health missing=()
    health=$(curl -fsS "$ENDPOINT/_localstack/health")
    for svc in ecs efs elbv2 servicediscovery ecr; do
        jq -e --arg s "$svc" '.services[$s] // "" | IN("available", "running")' <<<"$health" >/dev/null \
            || missing+=("$svc")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        cat >&2 <<EOF
deploy.sh: this LocalStack has no ${missing[*]}.
The stack runs the safekeepers, the pageserver, the proxy and the compute pool on ECS with EFS
volumes behind a Network Load Balancer, registered in Cloud Map, from images pushed to ECR:
those are LocalStack Pro services. Set LOCALSTACK_AUTH_TOKEN and a Pro image
(LOCALSTACK_IMAGE=localstack/localstack-pro:<version>), then run deploy.sh again.
LocalStack was started and is left running (deploy.sh --down stops it).
EOF
        exit 3
    fi
}

build_app() {
    log "building functions and the Lambda bundle (mvn -pl infra-cdk -am package -DskipTests)"
    (cd "$repo" && mvn -B -q -ntp -pl infra-cdk -am package -DskipTests)
}

# The proxy's wildcard certificate: self-signed for *.$DOMAIN, in the secret shape docs/aws.md asks for.
certificate_secret() {
    local name="strata/$ENV_NAME/wildcard-cert" dir arn
    arn=$(awsl secretsmanager describe-secret --secret-id "$name" 2>/dev/null | jq -r '.ARN // empty' || true)
    if [ -z "$arn" ]; then
        dir=$(mktemp -d)
        openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=*.$DOMAIN" \
            -addext "subjectAltName=DNS:*.$DOMAIN" -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
        arn=$(awsl secretsmanager create-secret --name "$name" --secret-string \
            "$(jq -n --rawfile c "$dir/cert.pem" --rawfile k "$dir/key.pem" '{certificate:$c, privateKey:$k}')" | jq -r .ARN)
        rm -rf "$dir"
    fi
    echo "$arn"
}

deploy() {
    local cert
    cert=$(certificate_secret)
    log "cdklocal bootstrap"
    cdklocal bootstrap "aws://$ACCOUNT/$REGION"
    log "cdklocal deploy $STACK (env=$ENV_NAME, domainName=$DOMAIN, computePoolSize=$POOL_SIZE)"
    cdklocal deploy "$STACK" --require-approval never \
        -c env="$ENV_NAME" -c domainName="$DOMAIN" -c certificateSecretArn="$cert" -c computePoolSize="$POOL_SIZE"
}

# Starts a workflow and waits for it; prints its output (JSON) on success, its error and cause on failure.
run_workflow() {
    local workflow=$1 operation=$2 input=$3 arn status deadline
    arn=$(awsl stepfunctions start-execution \
        --state-machine-arn "arn:aws:states:$REGION:$ACCOUNT:stateMachine:strata-$ENV_NAME-$workflow" \
        --name "$operation" --input "$input" | jq -r .executionArn)
    [ -n "$arn" ] || { echo "$workflow $operation: not started" >&2; return 1; }
    deadline=$((SECONDS + WAIT_SECONDS))
    while :; do
        status=$(awsl stepfunctions describe-execution --execution-arn "$arn" | jq -r .status)
        [ "$status" != RUNNING ] && break
        [ $SECONDS -lt $deadline ] || { echo "$workflow $operation: still RUNNING after $WAIT_SECONDS s" >&2; return 1; }
        sleep 3
    done
    if [ "$status" != SUCCEEDED ]; then
        echo "$workflow $operation: $status" >&2
        awsl stepfunctions describe-execution --execution-arn "$arn" | jq -r '"  error: \(.error // "-")\n  cause: \(.cause // "-")"' >&2
        return 1
    fi
    awsl stepfunctions describe-execution --execution-arn "$arn" | jq -r .output
}

smoke() {
    local stamp project out branch endpoint nlb op
    stamp=$(date +%s)
    project="p-smoke$stamp"

    log "smoke 1/4: create a project (create-project workflow)"
    op="op-smokeproject$stamp"
    out=$(run_workflow create-project "$op" "$(jq -nc --arg o "$op" --arg p "$project" \
        '{operationId:$o, projectId:$p, name:"smoke", pgVersion:17, recoversExecution:""}')")
    branch=$(jq -r '.project.branchId' <<<"$out")
    endpoint=$(jq -r '.endpoint.endpointId // .endpoint.id // empty' <<<"$out")
    echo "project $project: main branch $branch, endpoint ${endpoint:-?}"

    log "smoke 2/4: psql through the proxy"
    nlb=$(awsl cloudformation describe-stacks --stack-name "$STACK" \
        | jq -r '.Stacks[0].Outputs[] | select(.OutputKey | startswith("ProxyLoadBalancerDns")) | .OutputValue')
    [ -n "$endpoint" ] || die "create-project returned no endpoint id: $out"
    # The computes' admin password (generated by the stack); a plain string or {"password": ...}.
    PGPASSWORD=$(awsl secretsmanager get-secret-value --secret-id "strata/$ENV_NAME/compute-admin-password" \
        | jq -r '.SecretString | (fromjson? | .password) // .')
    export PGPASSWORD
    PGCONNECT_TIMEOUT=60 psql "host=$nlb port=5432 sslmode=require options=endpoint=$endpoint user=postgres dbname=postgres" \
        -v ON_ERROR_STOP=1 -c 'create table smoke(x int)' -c 'insert into smoke values (1), (2)' \
        -c 'select count(*) from smoke'

    log "smoke 3/4: create a branch (create-branch workflow)"
    op="op-smokebranch$stamp"
    run_workflow create-branch "$op" "$(jq -nc --arg o "$op" --arg p "$project" --arg b "$branch" \
        '{operationId:$o, projectId:$p, name:"smoke-branch", parentBranchId:$b, target:{kind:"head"},
          createEndpoint:false, recoversExecution:""}')" | jq -c .branch

    log "smoke 4/4: restore the main branch (restore workflow)"
    op="op-smokerestore$stamp"
    run_workflow restore "$op" "$(jq -nc --arg o "$op" --arg p "$project" --arg b "$branch" \
        '{operationId:$o, projectId:$p, branchId:$b, sourceBranchId:$b, target:{kind:"head"}, recoversExecution:""}')" \
        | jq -c .

    log "smoke test passed"
}

case "${1:-}" in
    --down)
        compose down -v
        ;;
    --smoke)
        smoke
        ;;
    "")
        check_prerequisites
        install_tools
        start_localstack
        require_pro_services
        build_app
        deploy
        smoke
        ;;
    *)
        die "usage: localstack/deploy.sh [--smoke | --down]"
        ;;
esac
