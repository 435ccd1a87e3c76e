#!/usr/bin/env bash
# Configures Vault for the examples in this directory: the Kubernetes auth
# method, the policy "vault-kubernetes-app" (read the KV v2 secrets under
# secret/k8s/ and list that directory, nothing else), and the role
# "vault-kubernetes-app" bound to the service accounts vault-app and
# vault-synchronizer of the namespace vault-kubernetes.
#
# Needs: the vault CLI logged in with rights to configure auth methods and
# policies (VAULT_ADDR, VAULT_TOKEN). For a Vault outside the cluster (the
# default) also kubectl pointed at the cluster, after
# 02-vault-token-reviewer.yaml was applied.
#
# usage: deploy/vault-setup.sh [--in-cluster-vault] [--example-secrets]
#   --in-cluster-vault  Vault runs in this cluster: it reviews JWTs with its
#                       own service account (bound to system:auth-delegator)
#                       and the CA of its pod; no reviewer token, no kubectl
#   --example-secrets   also enable KV v2 at secret/ if nothing is mounted
#                       there and write secret/k8s/first and
#                       secret/k8s/second (scenario 2); needs jq
#
# Variables: NAMESPACE (vault-kubernetes), SERVICE_ACCOUNTS
# (vault-app,vault-synchronizer), REVIEWER_NAMESPACE (vault-auth: where
# 02-vault-token-reviewer.yaml put the reviewer's token), AUTH_MOUNT
# (kubernetes), ROLE (vault-kubernetes-app), TOKEN_TTL (1h), TOKEN_MAX_TTL
# (24h), KUBERNETES_HOST (the API server's address as Vault reaches it;
# default: the current kubectl context's server, or
# https://kubernetes.default.svc with --in-cluster-vault).
set -euo pipefail

NAMESPACE=${NAMESPACE:-vault-kubernetes}
SERVICE_ACCOUNTS=${SERVICE_ACCOUNTS:-vault-app,vault-synchronizer}
REVIEWER_NAMESPACE=${REVIEWER_NAMESPACE:-vault-auth}
AUTH_MOUNT=${AUTH_MOUNT:-kubernetes}
ROLE=${ROLE:-vault-kubernetes-app}
TOKEN_TTL=${TOKEN_TTL:-1h}
TOKEN_MAX_TTL=${TOKEN_MAX_TTL:-24h}
usage="usage: $0 [--in-cluster-vault] [--example-secrets]"
example_secrets=false
in_cluster=false
for arg in "$@"; do
	case "$arg" in
	--example-secrets) example_secrets=true ;;
	--in-cluster-vault) in_cluster=true ;;
	*) echo "$usage" >&2; exit 2 ;;
	esac
done

need() {
	command -v "$1" >/dev/null ||
		{ echo "vault-setup: $1 not found in PATH ($2)" >&2; exit 1; }
}
need vault "always"
[ "$in_cluster" = true ] || need kubectl "without --in-cluster-vault"
[ "$example_secrets" = false ] || need jq "for --example-secrets"

# Reads one key of the reviewer's Secret into the variable named $2.
# kubectl's own error is shown, never a value.
reviewer_field() {
	local out
	if ! out=$(kubectl -n "$REVIEWER_NAMESPACE" get secret \
		vault-token-reviewer -o "jsonpath={.data.$1}" 2>&1); then
		echo "vault-setup: cannot read secret" \
			"$REVIEWER_NAMESPACE/vault-token-reviewer: $out" >&2
		echo "vault-setup: apply deploy/02-vault-token-reviewer.yaml" \
			"first, or pass --in-cluster-vault for a Vault running" \
			"in the cluster" >&2
		exit 1
	fi
	if [ -z "$out" ] || ! out=$(printf '%s' "$out" | base64 -d); then
		echo "vault-setup: secret $REVIEWER_NAMESPACE/vault-token-reviewer" \
			"has no ${1//\\/} yet (Kubernetes fills it in a moment after" \
			"02-vault-token-reviewer.yaml is applied); try again" >&2
		exit 1
	fi
	printf -v "$2" '%s' "$out"
}

# Checked before anything changes in Vault: the KV engine at secret/.
enable_kv=false
if [ "$example_secrets" = true ]; then
	mounts=$(vault secrets list -format=json)
	# "kv 2", "kv 1" (no version option means 1), "<type> -", or "".
	at_secret=$(printf '%s' "$mounts" | jq -r '."secret/" // empty |
		"\(.type) \(if .type == "kv" or .type == "generic" then
			(.options.version // "1") else "-" end)"')
	case "$at_secret" in
	"") enable_kv=true ;;
	"kv 2") ;;
	"kv 1")
		echo "vault-setup: secret/ is a KV version 1 mount; the policy" \
			"this script writes names KV v2 paths (secret/data/k8s/*), so it would" \
			"match nothing. Upgrade it (vault kv enable-versioning" \
			"secret/) or write a v1 policy (path \"secret/k8s/*\")" >&2
		exit 1
		;;
	*)
		echo "vault-setup: secret/ holds a ${at_secret% *} engine, not" \
			"KV; mount KV v2 there or change the paths" >&2
		exit 1
		;;
	esac
fi

# Everything read before anything changes in Vault.
if [ "$in_cluster" = true ]; then
	# Vault reads its own pod's service account token and CA (Vault 1.9
	# and later, disable_local_ca_jwt=false), and reaches the API server
	# through the cluster's service.
	KUBERNETES_HOST=${KUBERNETES_HOST:-https://kubernetes.default.svc}
else
	# What Vault needs to check the JWTs pods log in with: the API
	# server's address and CA, and the reviewer's token.
	if [ -z "${KUBERNETES_HOST:-}" ]; then
		KUBERNETES_HOST=$(kubectl config view --minify \
			-o jsonpath='{.clusters[0].cluster.server}')
		echo "vault-setup: KUBERNETES_HOST=$KUBERNETES_HOST (from" \
			"kubectl; Vault must reach it at this address)" >&2
	fi
	[ -n "$KUBERNETES_HOST" ] || {
		echo "vault-setup: no KUBERNETES_HOST and no server in the" \
			"kubectl context; set KUBERNETES_HOST" >&2
		exit 1
	}
	reviewer="" kube_ca=""
	reviewer_field token reviewer
	reviewer_field 'ca\.crt' kube_ca
fi

if ! vault auth list -format=json | grep -q "\"$AUTH_MOUNT/\""; then
	vault auth enable -path="$AUTH_MOUNT" kubernetes
fi
if [ "$in_cluster" = true ]; then
	vault write "auth/$AUTH_MOUNT/config" \
		kubernetes_host="$KUBERNETES_HOST"
else
	# The reviewer's token goes in on standard input, never on a command
	# line.
	printf '%s' "$reviewer" | vault write "auth/$AUTH_MOUNT/config" \
		kubernetes_host="$KUBERNETES_HOST" \
		kubernetes_ca_cert="$kube_ca" \
		token_reviewer_jwt=-
	unset reviewer
fi

# Exactly what the helpers read. The synchronizer finds the KV version of
# each mount without sys/mounts; the renewer's renew-self and lookup-self
# come with Vault's default policy, which the role keeps.
vault policy write "$ROLE" - <<POLICY
path "secret/data/k8s/*" {
  capabilities = ["read"]
}
path "secret/metadata/k8s/*" {
  capabilities = ["list"]
}
POLICY

vault write "auth/$AUTH_MOUNT/role/$ROLE" \
	bound_service_account_names="$SERVICE_ACCOUNTS" \
	bound_service_account_namespaces="$NAMESPACE" \
	token_policies="$ROLE" \
	token_ttl="$TOKEN_TTL" \
	token_max_ttl="$TOKEN_MAX_TTL"

if [ "$example_secrets" = true ]; then
	if [ "$enable_kv" = true ]; then
		vault secrets enable -path=secret -version=2 kv
	fi
	# Example values only; real ones never belong in a script.
	vault kv put secret/k8s/first one=1 two=2
	vault kv put secret/k8s/second green=lantern poison=ivy
fi
echo "vault-setup: auth/$AUTH_MOUNT role $ROLE for" \
	"$NAMESPACE/{$SERVICE_ACCOUNTS} is ready"
