#!/usr/bin/env bash
# Installs what building and testing need, from Debian's packages only.
set -euo pipefail

pkgs=(build-essential cmake pkg-config clang-format
      libcurl4-openssl-dev libjson-c-dev libssl-dev libmicrohttpd-dev
      python3 python3-hvac openssl curl
      python3-yaml ca-certificates buildah runc crun jq)
# clang and its runtime for fuzzing, valgrind and strace for the checks
# of memory and of the token file's creation
pkgs+=(clang libclang-rt-14-dev valgrind strace binutils)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed" || missing+=("$p")
done
# The manifest check installs its schema package with npm; the machine's
# Node.js may come from elsewhere, so only a missing npm asks for Debian's.
command -v npm >/dev/null || missing+=(nodejs npm)
if [ "${#missing[@]}" -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	sudo_cmd=()
	[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
	"${sudo_cmd[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" \
		apt-get install -y -qq "${missing[@]}" >/dev/null
fi
