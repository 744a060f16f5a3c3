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
PACKAGES="openssh-server docker.io iptables iproute2 ca-certificates procps zstd"

force=0
[ "${1:-}" = "--force" ] && force=1

hash=$(printf 'packages=%s\n' "$PACKAGES" \
  | cat - "$images/common.sh" "$here/build-offline.sh" "$here/Dockerfile.offline" "$here/boot.sh" \
  | sha256sum | cut -c1-16)

# A droplet starts with no host key: cloud-init (here: the stand-in) installs the one the
# operator generated.
customize() {
  rm -f "$1"/etc/ssh/ssh_host_*
}

build_image test-droplet "$TAG" "$here" "$hash" "$force" "$PACKAGES" customize
