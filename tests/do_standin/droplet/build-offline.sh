#!/usr/bin/env bash
# Builds sparkswarm/test-droplet:1, what the DigitalOcean stand-in boots as a "droplet": a
# Debian bookworm root (debootstrap, no image registry) with OpenSSH and Debian's docker.io,
# as on DigitalOcean's Docker image. Runs privileged so that its own Docker engine works.
# Exits at once when the image of these inputs exists.
#
# Usage: tests/do_standin/droplet/build-offline.sh [--force]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
images=$(cd "$here/../../../images" && pwd)
# shellcheck source=../../../images/common.sh
. "$images/common.sh"

TAG="sparkswarm/test-droplet:1"
PACKAGES="openssh-server docker.io iptables iproute2 ca-certificates procps"

force=0
[ "${1:-}" = "--force" ] && force=1

hash=$(printf 'packages=%s\n' "$PACKAGES" \
  | cat - "$images/common.sh" "$here/build-offline.sh" "$here/Dockerfile.offline" "$here/boot.sh" \
  | sha256sum | cut -c1-16)

if [ $force = 0 ] && image_is_current "$TAG" "$hash"; then
  log "$TAG is up to date (inputs $hash)"
  exit 0
fi

base="sparkswarm/test-droplet-base:$hash"
cached="$CACHE_DIR/test-droplet-root-$hash.tar.gz"
if ! docker image inspect "$base" >/dev/null 2>&1; then
  if [ -s "$cached" ] && [ $force = 0 ]; then
    log "importing the cached root $cached as $base"
    docker import "$cached" "$base" >/dev/null
  else
    need_root_tools
    work=$(mktemp -d "${TMPDIR:-/tmp}/sparkswarm-droplet-root.XXXXXX")
    trap 'umount -l "$work/root/proc" "$work/root/sys" "$work/root/dev" 2>/dev/null || true; rm -rf "$work"' EXIT
    make_root "$work/root"
    log "installing $PACKAGES"
    # shellcheck disable=SC2086
    apt_install "$work/root" $PACKAGES
    # A droplet starts with no host key: cloud-init (here: the stand-in) installs the one
    # the operator generated.
    rm -f "$work/root"/etc/ssh/ssh_host_*
    import_root "$work/root" "$base" "$cached"
  fi
fi

build_top "$here" "$TAG" "$base" "$hash"
docker images --format '{{.Repository}}:{{.Tag}}' sparkswarm/test-droplet-base | grep -v ":$hash\$" | xargs -r docker image rm >/dev/null 2>&1 || true
log "built $TAG (inputs $hash)"
