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

# The registry keeps its data in a volume.
customize() {
  mkdir -p "$1/var/lib/registry"
}

build_image registry "$TAG" "$here" "$hash" "$force" "$PACKAGES" customize
