#!/usr/bin/env bash
# The benchmark in one command: installs what is missing (Debian packages
# only), builds a Release binary in build-bench/, then runs bench/run.py
# (arguments are passed on; --help lists them). Prints the table.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
pkgs=(python3-hvac python3-kubernetes jq curl binutils)
# kubectl: the one on the machine (the pinned 1.30 of the Cloud SDK when
# present); Debian's kubernetes-client only when there is none.
command -v kubectl >/dev/null ||
	[ -x /usr/lib/google-cloud-sdk/bin/kubectl.1.30 ] ||
	pkgs+=(kubernetes-client)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "bench: installing ${missing[*]}" >&2
	sudo_cmd=()
	[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
	"${sudo_cmd[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" \
		apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-bench -j"$(nproc)" --target vault-kubernetes >/dev/null
exec /usr/bin/python3 bench/run.py --binary "$PWD/build-bench/vault-kubernetes" "$@"
