#!/usr/bin/env bash
# Builds the three container images without a container engine: compiles
# the binary, stages it with exactly the shared libraries it links, the
# dynamic loader, a CA bundle and the nobody user (stage-rootfs.sh), then
# commits the staged tree with buildah (vfs storage, from scratch) into one
# OCI layout holding
#   vault-kubernetes-authenticator:<version>
#   vault-kubernetes-synchronizer:<version>
#   vault-kubernetes-token-renewer:<version>
# (one shared layer, three entrypoints). packaging/check-image.py then
# checks each image's configuration and contents and runs --version in it
# with crun or runc where the machine allows.
#
# usage: packaging/build-image.sh [output-dir]     (default: build-image)
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-build-image}
mkdir -p "$out"
out=$(cd "$out" && pwd)
bindir=/usr/local/bin
helpers=(authenticator synchronizer token-renewer)

py=/usr/bin/python3
for tool in buildah cmake ldd readelf strip "$py"; do
	command -v "$tool" >/dev/null ||
		{ echo "build-image: $tool not found (scripts/setup.sh installs it)" >&2; exit 1; }
done

echo "== build the binary ($out/build)"
cmake -S . -B "$out/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$out/build" --target vault-kubernetes -j"$(nproc)" >/dev/null
bin=$out/build/vault-kubernetes
version=$("$bin" --version | awk '{print $2}')
[ -n "$version" ] || { echo "build-image: no version from $bin --version" >&2; exit 1; }

echo "== stage the root filesystem"
root=$out/rootfs
packaging/stage-rootfs.sh "$bin" "$root"

echo "== commit the images with buildah (vfs storage, from scratch)"
store=$out/storage
rm -rf "$store" "$out/oci"
bah=(buildah --storage-driver vfs --root "$store/root" --runroot "$store/run")
export BUILDAH_ISOLATION=chroot
ctr=$("${bah[@]}" from --quiet scratch)
cleanup() { "${bah[@]}" rm "$ctr" >/dev/null 2>&1 || true; rm -rf "$store"; }
trap cleanup EXIT
"${bah[@]}" copy --quiet --chown 0:0 "$ctr" "$root" / >/dev/null
"${bah[@]}" config \
	--user 65534:65534 --workingdir / \
	--env PATH="$bindir" \
	--label org.opencontainers.image.title=vault-kubernetes \
	--label org.opencontainers.image.version="$version" \
	--label org.opencontainers.image.description="Vault helpers for Kubernetes pods (C)" \
	--created-by "packaging/build-image.sh: staged files, no shell" \
	--os linux --arch amd64 "$ctr"
for h in "${helpers[@]}"; do
	name=vault-kubernetes-$h
	"${bah[@]}" config --entrypoint "[\"$bindir/$name\"]" --cmd '' \
		--label org.opencontainers.image.ref.name="$name:$version" "$ctr"
	"${bah[@]}" commit --quiet --format oci --timestamp 0 \
		--disable-compression=false \
		"$ctr" "oci:$out/oci:$name:$version" >/dev/null
done

echo "== check the images"
"$py" packaging/check-image.py --layout "$out/oci" --version "$version" \
	--staged "$root" --bundle-dir "$out/bundles"
