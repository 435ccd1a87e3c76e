#!/usr/bin/env bash
# Configures Vault for the examples in this directory: the Kubernetes auth
# method, the policy "vault-kubernetes-app" (read the KV v2 secrets under
# secret/k8s/ and list that directory, nothing else), and the role
# "vault-kubernetes-app" bound to the service account vault-app of the
# namespace vault-kubernetes.
#
# Needs: the vault CLI logged in with rights to configure auth methods and
# policies (VAULT_ADDR, VAULT_TOKEN), and kubectl pointed at the cluster
# after 00-namespace.yaml and 02-vault-token-reviewer.yaml were applied.
#
# usage: deploy/vault-setup.sh [--example-secrets]
#   --example-secrets  also enable KV v2 at secret/ if missing and write
#                      secret/k8s/first and secret/k8s/second (scenario 2)
#
# Variables: NAMESPACE (vault-kubernetes), SERVICE_ACCOUNT (vault-app),
# AUTH_MOUNT (kubernetes), ROLE (vault-kubernetes-app), TOKEN_TTL (1h),
# TOKEN_MAX_TTL (24h), KUBERNETES_HOST (the API server address as Vault
# reaches it; default: the current kubectl context's server).
set -euo pipefail

NAMESPACE=${NAMESPACE:-vault-kubernetes}
SERVICE_ACCOUNT=${SERVICE_ACCOUNT:-vault-app}
AUTH_MOUNT=${AUTH_MOUNT:-kubernetes}
ROLE=${ROLE:-vault-kubernetes-app}
TOKEN_TTL=${TOKEN_TTL:-1h}
TOKEN_MAX_TTL=${TOKEN_MAX_TTL:-24h}
example_secrets=false
case "${1:-}" in
"") ;;
--example-secrets) example_secrets=true ;;
*) echo "usage: $0 [--example-secrets]" >&2; exit 2 ;;
esac

for tool in vault kubectl; do
	command -v "$tool" >/dev/null ||
		{ echo "vault-setup: $tool not found in PATH" >&2; exit 1; }
done

# What Vault needs to check the JWTs pods log in with: the API server's
# address and CA, and the reviewer's token (02-vault-token-reviewer.yaml).
KUBERNETES_HOST=${KUBERNETES_HOST:-$(kubectl config view --minify \
	-o jsonpath='{.clusters[0].cluster.server}')}
reviewer=$(kubectl -n "$NAMESPACE" get secret vault-token-reviewer \
	-o jsonpath='{.data.token}' | base64 -d)
kube_ca=$(kubectl -n "$NAMESPACE" get secret vault-token-reviewer \
	-o jsonpath='{.data.ca\.crt}' | base64 -d)
[ -n "$reviewer" ] && [ -n "$kube_ca" ] || {
	echo "vault-setup: secret $NAMESPACE/vault-token-reviewer has no token" \
		"or ca.crt yet; apply deploy/02-vault-token-reviewer.yaml first" >&2
	exit 1
}

if ! vault auth list -format=json | grep -q "\"$AUTH_MOUNT/\""; then
	vault auth enable -path="$AUTH_MOUNT" kubernetes
fi
# The reviewer's token goes in on standard input, never on a command line.
printf '%s' "$reviewer" | vault write "auth/$AUTH_MOUNT/config" \
	kubernetes_host="$KUBERNETES_HOST" \
	kubernetes_ca_cert="$kube_ca" \
	token_reviewer_jwt=-

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
	bound_service_account_names="$SERVICE_ACCOUNT" \
	bound_service_account_namespaces="$NAMESPACE" \
	token_policies="$ROLE" \
	token_ttl="$TOKEN_TTL" \
	token_max_ttl="$TOKEN_MAX_TTL"

if [ "$example_secrets" = true ]; then
	if ! vault secrets list -format=json | grep -q '"secret/"'; then
		vault secrets enable -path=secret -version=2 kv
	fi
	# Example values only; real ones never belong in a script.
	vault kv put secret/k8s/first one=1 two=2
	vault kv put secret/k8s/second green=lantern poison=ivy
fi
echo "vault-setup: auth/$AUTH_MOUNT role $ROLE for $NAMESPACE/$SERVICE_ACCOUNT is ready"
