#!/usr/bin/env bash
# Validates Kubernetes manifests offline (no API server): installs the
# pinned schema package (package-lock.json) with npm into a work directory
# outside the source tree, then runs validate-manifests.cjs on the files.
#
# usage: tests/deploy/check-manifests.sh [FILE.yaml...]   (default: deploy/*.yaml)
# VK_DEPLOY_CHECK_DIR: the work directory (default: build-deploy-check/).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${VK_DEPLOY_CHECK_DIR:-$root/build-deploy-check}

command -v node >/dev/null && command -v npm >/dev/null ||
	{ echo "check-manifests: node and npm are needed (scripts/setup.sh)" >&2; exit 2; }
mkdir -p "$work"
if ! cmp -s "$here/package-lock.json" "$work/package-lock.json" ||
	[ ! -d "$work/node_modules/kubernetes-models" ]; then
	cp "$here/package.json" "$here/package-lock.json" "$work/"
	(cd "$work" && npm ci --no-audit --no-fund --loglevel=error >&2)
fi
cp "$here/validate-manifests.cjs" "$work/"

if [ "$#" -eq 0 ]; then
	set -- "$root"/deploy/*.yaml
fi
exec node "$work/validate-manifests.cjs" "$@"
