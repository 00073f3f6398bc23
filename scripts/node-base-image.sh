#!/usr/bin/env bash
# Builds a minimal Node base image from this machine's own node binary, for hosts that cannot pull
# images: /usr/bin/node (or NODE_BIN) plus every library `ldd` lists for it and for sharp's prebuilt
# binaries, in a rootfs, `docker import`ed. Run from the checkout, after npm ci.
# Usage: bash scripts/node-base-image.sh [TAG]   (default forge-media-sync/node-base:local)
set -euo pipefail
tag=${1:-forge-media-sync/node-base:local}
node_bin=${NODE_BIN:-$(command -v node)}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root/usr/local/bin" "$root/tmp" "$root/etc" "$root/app"
chmod 1777 "$root/tmp"
cp "$(readlink -f "$node_bin")" "$root/usr/local/bin/node"
# The system libraries of node, and of the prebuilt native modules the images ship (sharp's, for
# thumbnails, links libresolv and libdl, which node does not): those under node_modules travel with
# their packages.
binaries=("$node_bin")
for native in node_modules/@img/sharp-*/lib/*.node node_modules/@img/sharp-libvips-*/lib/*.so*; do
  [ -f "$native" ] && binaries+=("$native")
done
for lib in $(ldd "${binaries[@]}" 2>/dev/null | grep -o '/[^ ]*' | grep -v -e node_modules -e ':$' | sort -u); do
  [ -f "$lib" ] || continue
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
# Enough of /etc for user lookups and name resolution inside containers.
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnode:x:1000:1000:node:/home/node:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
tar -C "$root" -c . | docker import \
  -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  -c 'ENV NODE_ENV=production' \
  -m "node $("$node_bin" --version) from $(hostname), no shell, no npm" - "$tag" >/dev/null
echo "$tag"
