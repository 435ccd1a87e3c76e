#!/bin/bash
# Peer of vault-kubernetes-token-renewer, written the way a user would with
# curl and jq: renew the token in VAULT_TOKEN_PATH at once, then again at
# two thirds of each lease, until SIGTERM.
# Benchmark code only (bench/run.py); never shipped.
set -u
: "${VAULT_ADDR:?}" "${VAULT_TOKEN_PATH:?}"
cacert=${VAULT_CACERT:+--cacert $VAULT_CACERT}

log() { printf '%(%Y/%m/%d %H:%M:%S)T %s\n' -1 "$*" >&2; }

work=$(mktemp -d)
sleeper=
trap '[ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
	rm -rf "$work"; log "signal received - stop execution"; exit 0' TERM INT
(umask 077; printf 'X-Vault-Token: %s\n' "$(cat "$VAULT_TOKEN_PATH")" \
	>"$work/header")
log "start renewer loop"
while :; do
	# Sleep two thirds of the lease; one second after a failure.
	wait_s=$(curl -sS --fail $cacert -H @"$work/header" -X POST \
		--data "{\"increment\": \"${VAULT_TTL:-0}\"}" \
		"$VAULT_ADDR/v1/auth/token/renew-self" |
		jq -er '.auth.lease_duration * 2 / 3') &&
		log "token renewed" ||
		{ log "token renewal failed"; wait_s=1; }
	sleep "$wait_s" &
	sleeper=$!
	wait "$sleeper"
done
