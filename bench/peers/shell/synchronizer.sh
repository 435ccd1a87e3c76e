#!/bin/bash
# Peer of vault-kubernetes-synchronizer, written the way a user would with
# curl, jq and kubectl: read each KV v2 secret of VAULT_SECRETS (entries
# "mount/path" or "mount/dir/" for one directory level, optionally
# ":name"), turn it into a Secret annotated with its Vault path, apply
# them all with one kubectl call, then delete managed Secrets no longer
# wanted. Every Vault read happens before any Kubernetes write.
# Benchmark code only (bench/run.py); never shipped.
set -euo pipefail
: "${VAULT_ADDR:?}" "${VAULT_TOKEN_PATH:?}" "${VAULT_SECRETS:?}"
: "${KUBERNETES_SERVICE_HOST:?}" "${KUBERNETES_SERVICE_PORT:?}"
sa=${SERVICE_ACCOUNT_DIR:-/var/run/secrets/kubernetes.io/serviceaccount}
ann=${SYNCHRONIZER_ANNOTATION:-vault-secret}
prefix=${SECRET_PREFIX:-}
ns=${POD_NAMESPACE:-$(cat "$sa/namespace")}
cacert=()
[ -n "${VAULT_CACERT:-}" ] && cacert=(--cacert "$VAULT_CACERT")

log() { printf '%(%Y/%m/%d %H:%M:%S)T %s\n' -1 "$*" >&2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The token goes to curl in a header file, never on a command line.
(umask 077; printf 'X-Vault-Token: %s\n' "$(cat "$VAULT_TOKEN_PATH")" \
	>"$work/header")
# kubectl as in the pod: the service-account token file and CA.
cat >"$work/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: in-cluster
  cluster:
    server: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT
    certificate-authority: $sa/ca.crt
users:
- name: sa
  user:
    tokenFile: $sa/token
contexts:
- name: in-cluster
  context: {cluster: in-cluster, user: sa, namespace: $ns}
current-context: in-cluster
KC
kubectl() {
	command kubectl --kubeconfig "$work/kubeconfig" \
		--cache-dir "$work/kube-cache" "$@"
}
vault() {
	curl -sS "${cacert[@]}" -H @"$work/header" "$@"
}

# read_one MOUNT REL NAME: one Secret manifest on stdout, or nothing when
# the secret does not exist.
read_one() {
	local api="$1/data/$2" code
	log "read $api from vault"
	code=$(vault -o "$work/answer" -w '%{http_code}' "$VAULT_ADDR/v1/$api")
	case $code in
	200) ;;
	404) log "secret $api not found"; return 0 ;;
	*) log "read $api from vault: HTTP $code"; return 1 ;;
	esac
	jq -c --arg name "$prefix$3" --arg ann "$ann" --arg path "$api" '{
		apiVersion: "v1", kind: "Secret", type: "Opaque",
		metadata: {name: $name, annotations: {($ann): $path}},
		data: (.data.data | map_values(
			if type == "string" then
				(if startswith("base64:") then .[7:] else @base64 end)
			else tojson | @base64 end))}' "$work/answer"
}

: >"$work/secrets"
IFS=, read -ra entries <<<"$VAULT_SECRETS"
for entry in "${entries[@]}"; do
	path=${entry%%:*}
	name=
	[ "$path" != "$entry" ] && name=${entry#*:}
	path=${path#/}
	mount=${path%%/*}
	rel=${path#*/}
	rel=${rel#data/}
	if [ "${rel%/}" != "$rel" ]; then
		dir=${rel%/}
		code=$(vault -o "$work/list" -w '%{http_code}' \
			"$VAULT_ADDR/v1/$mount/metadata/$dir?list=true")
		[ "$code" = 404 ] && continue
		[ "$code" = 200 ] || { log "list $mount/metadata/$dir: HTTP $code"; exit 1; }
		for key in $(jq -r '.data.keys[] | select(endswith("/") | not)' \
			"$work/list"); do
			read_one "$mount" "$dir/$key" "$key" >>"$work/secrets"
		done
	else
		read_one "$mount" "$rel" "${name:-${rel##*/}}" >>"$work/secrets"
	fi
done

if [ -s "$work/secrets" ]; then
	jq -s '{apiVersion: "v1", kind: "List", items: .}' "$work/secrets" |
		kubectl apply --server-side --field-manager=vault-sync \
			--validate=false -f - >&2
fi
# Managed Secrets this run did not write go away.
kubectl get secrets -o json |
	jq -r --arg ann "$ann" \
		'.items[] | select(.metadata.annotations[$ann] != null) |
		.metadata.name' | sort >"$work/managed"
jq -r '.metadata.name' "$work/secrets" | sort >"$work/wanted"
comm -23 "$work/managed" "$work/wanted" >"$work/obsolete"
if [ -s "$work/obsolete" ]; then
	xargs kubectl delete secret <"$work/obsolete" >&2
fi
log "secrets successfully synchronized"
