#!/bin/bash
# Peer of vault-kubernetes-authenticator, written the way a user would with
# curl and jq: log in to Vault with the pod's service-account JWT
# (Kubernetes auth) and write the token to VAULT_TOKEN_PATH.
# Benchmark code only (bench/run.py); never shipped.
set -eu
: "${VAULT_ADDR:?}" "${VAULT_ROLE:?}" "${VAULT_TOKEN_PATH:?}"
sa=${SERVICE_ACCOUNT_DIR:-/var/run/secrets/kubernetes.io/serviceaccount}
mount=${VAULT_AUTH_MOUNT_PATH:-kubernetes}
cacert=${VAULT_CACERT:+--cacert $VAULT_CACERT}

log() { printf '%(%Y/%m/%d %H:%M:%S)T %s\n' -1 "$*" >&2; }

# The JWT goes to curl on stdin, never on a command line.
token=$(jq -n --arg role "$VAULT_ROLE" --rawfile jwt "$sa/token" \
	'{role: $role, jwt: ($jwt | rtrimstr("\n"))}' |
	curl -sS --fail $cacert -X POST --data @- \
		"$VAULT_ADDR/v1/auth/$mount/login" |
	jq -er '.auth.client_token')

umask 027
tmp=$VAULT_TOKEN_PATH.tmp.$$
printf '%s' "$token" >"$tmp"
mv -f "$tmp" "$VAULT_TOKEN_PATH"
log "successfully authenticated to vault"
