#!/usr/bin/env bash
# Builds sparkswarm/registry:2 without any image registry: a minimal Debian bookworm root
# (debootstrap) with Debian's docker-registry package (the Distribution registry 2.8),
# `docker import`, then Dockerfile.offline on top. Exits at once when the image of these
# inputs exists.
#
# Usage: images/registry/build-offline.sh [--force]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../common.sh
. "$here/../common.sh"

TAG="sparkswarm/registry:2"
PACKAGES="docker-registry tini ca-certificates"

force=0
[ "${1:-}" = "--force" ] && force=1

hash=$(printf 'packages=%s\n' "$PACKAGES" \
  | cat - "$here/../common.sh" "$here/build-offline.sh" "$here/Dockerfile.offline" "$here/config.yml" \
  | sha256sum | cut -c1-16)

if [ $force = 0 ] && image_is_current "$TAG" "$hash"; then
  log "$TAG is up to date (inputs $hash)"
  exit 0
fi

base="sparkswarm/registry-base:$hash"
cached="$CACHE_DIR/registry-root-$hash.tar.gz"
if ! docker image inspect "$base" >/dev/null 2>&1; then
  if [ -s "$cached" ] && [ $force = 0 ]; then
    log "importing the cached root $cached as $base"
    docker import "$cached" "$base" >/dev/null
  else
    need_root_tools
    work=$(mktemp -d "${TMPDIR:-/tmp}/sparkswarm-registry-root.XXXXXX")
    trap 'umount -l "$work/root/proc" "$work/root/sys" "$work/root/dev" 2>/dev/null || true; rm -rf "$work"' EXIT
    make_root "$work/root"
    log "installing $PACKAGES"
    # shellcheck disable=SC2086
    apt_install "$work/root" $PACKAGES
    mkdir -p "$work/root/var/lib/registry"
    import_root "$work/root" "$base" "$cached"
  fi
fi

build_top "$here" "$TAG" "$base" "$hash"
docker images --format '{{.Repository}}:{{.Tag}}' sparkswarm/registry-base | grep -v ":$hash\$" | xargs -r docker image rm >/dev/null 2>&1 || true
log "built $TAG (inputs $hash)"
