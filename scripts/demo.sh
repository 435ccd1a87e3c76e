#!/usr/bin/env bash
# The three scenarios of PRODUCT.md, end to end, against the local Vault
# and Kubernetes doubles (HTTPS with a throwaway CA). Sets up, builds,
# runs, prints each helper's log and stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/setup.sh
scripts/build.sh build >/dev/null
bin=$root/build/vault-kubernetes
py=/usr/bin/python3

work=$(mktemp -d /tmp/vk-demo.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
wait_file() {
	for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done
	echo "demo: $1 did not appear" >&2
	return 1
}

say "starting the Vault and Kubernetes doubles (HTTPS, throwaway CA)"
$py -c "import sys; sys.path.insert(0, 'tests')
from doubles.common import make_certs
make_certs('$work')" 
sa=$work/serviceaccount
mkdir -p "$sa" "$work/vault"
cp "$work/ca.crt" "$sa/ca.crt"
echo default >"$sa/namespace"

# Kubernetes role "demo" with a 6 s token TTL, so scenario 3 is quick.
$py tests/doubles/vault_double.py --port 0 --tls-cert "$work/server.crt" \
	--tls-key "$work/server.key" --seed demo --ttl 6 --max-ttl 600 \
	--ready-file "$work/vault.ready" >"$work/vault.json" 2>"$work/vault.log" &
pids+=($!)
wait_file "$work/vault.ready"
wait_file "$work/vault.json"
$py -c "import json,sys; d=json.loads(open('$work/vault.json').readline())
open('$sa/token','w').write(d['jwt']+'\n')
print(d['port'])" >"$work/vault.port"
$py tests/doubles/kube_double.py --port 0 --tls-cert "$work/server.crt" \
	--tls-key "$work/server.key" --token-file "$sa/token" \
	--ready-file "$work/kube.ready" >"$work/kube.log" 2>&1 &
pids+=($!)
wait_file "$work/kube.ready"
kube_port=$($py -c "print(open('$work/kube.ready').read().strip().rsplit(':',1)[1].strip('/'))")

export VAULT_ADDR=https://127.0.0.1:$(cat "$work/vault.port")
export VAULT_CACERT=$work/ca.crt
export VAULT_ROLE=demo
export VAULT_TOKEN_PATH=$work/vault/.vault-token
export SERVICE_ACCOUNT_DIR=$sa
export KUBERNETES_SERVICE_HOST=127.0.0.1
export KUBERNETES_SERVICE_PORT=$kube_port
echo "Vault double:      $VAULT_ADDR"
echo "Kubernetes double: https://127.0.0.1:$kube_port"

say "scenario 1: one-time token (vault-kubernetes-authenticator)"
"$bin" authenticator
ls -l "$VAULT_TOKEN_PATH" | awk '{print "token file:", $1, $5, "bytes,", $NF}'

say "scenario 2: secrets into Kubernetes (authenticator, then synchronizer)"
export VAULT_SECRETS=secret/data/k8s/first,secret/data/k8s/second,secret/data/k8s/first:third
echo "VAULT_SECRETS=$VAULT_SECRETS"
"$bin" authenticator
"$bin" synchronizer
echo
$py scripts/describe_secrets.py "https://127.0.0.1:$kube_port" \
	"$sa/ca.crt" "$sa/token" default

say "scenario 3: a token for the pod's lifetime (token-renewer, 6 s TTL)"
"$bin" token-renewer &
renewer=$!
pids+=($renewer)
sleep 14
kill -TERM "$renewer"
set +e
wait "$renewer"
rc=$?
set -e
echo "token-renewer exited with $rc after SIGTERM"

say "demo finished"
