#!/usr/bin/env bash
# Stages the image's root filesystem from a built binary: the binary
# (stripped) and its three vault-kubernetes-* links, every shared library
# ldd resolves for it at the path the loader searches, the loader itself,
# the CA bundle and passwd/group lines for nobody (65534). Nothing else:
# no shell, no package manager. Used by build-image.sh and the
# Containerfile alike.
#
# usage: packaging/stage-rootfs.sh <binary> <empty-or-absent-dir>
set -euo pipefail

bin=$1
root=$2
bindir=/usr/local/bin
ca=/etc/ssl/certs/ca-certificates.crt

[ -x "$bin" ] || { echo "stage-rootfs: $bin is not an executable" >&2; exit 1; }
[ -s "$ca" ] || { echo "stage-rootfs: no CA bundle at $ca (package ca-certificates)" >&2; exit 1; }
rm -rf "$root"
mkdir -p "$root$bindir" "$root/etc/ssl/certs"

install -m 0755 "$bin" "$root$bindir/vault-kubernetes"
strip --strip-unneeded "$root$bindir/vault-kubernetes"
for h in authenticator synchronizer token-renewer; do
	ln -s vault-kubernetes "$root$bindir/vault-kubernetes-$h"
done

# ldd prints "name => /path (addr)" for libraries and "/path (addr)" for
# the loader; vdso lines have no path and are skipped.
ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' |
	sort -u | while read -r lib; do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
		chmod 0644 "$root$lib"
	done
interp=$(readelf -l "$bin" | sed -n 's/.*interpreter: \(.*\)\]/\1/p')
[ -n "$interp" ] && [ -f "$root$interp" ] ||
	{ echo "stage-rootfs: loader '$interp' of $bin not staged" >&2; exit 1; }
chmod 0755 "$root$interp"

install -m 0644 "$ca" "$root$ca"
printf 'nobody:x:65534:65534:nobody:/nonexistent:/nonexistent\n' >"$root/etc/passwd"
printf 'nogroup:x:65534:\n' >"$root/etc/group"
chmod 0644 "$root/etc/passwd" "$root/etc/group"
find "$root" -type d -exec chmod 0755 {} +
