# Shared by images/*/build-offline.sh: a minimal Debian root from Debian's own mirrors,
# turned into a Docker image without any image registry (docker import + a local FROM).
#
# Everything expensive is cached under $SPARKSWARM_IMAGE_CACHE (default
# ~/.cache/sparkswarm/images): the debootstrap tarball of the minimal root and the
# finished root filesystem of each image, keyed by the hash of its inputs.
# shellcheck shell=bash

set -euo pipefail

DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CACHE_DIR="${SPARKSWARM_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sparkswarm/images}"
LABEL_KEY="io.sparkswarm.inputs"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The hash of every input file given, plus the environment that changes the result.
inputs_hash() {
  { for f in "$@"; do printf '%s\n' "$f"; cat "$f"; done
    printf 'suite=%s\n' "$DEBIAN_SUITE"; } | sha256sum | cut -c1-16
}

# True when $1 exists and carries the label $LABEL_KEY=$2: nothing to rebuild.
image_is_current() {
  local have
  have=$(docker image inspect "$1" --format "{{ index .Config.Labels \"$LABEL_KEY\" }}" 2>/dev/null) || return 1
  [ "$have" = "$2" ]
}

need_root_tools() {
  [ "$(id -u)" = 0 ] || die "debootstrap needs root (or run the Dockerfile build on a machine with a registry)"
  command -v debootstrap >/dev/null 2>&1 || {
    log "installing debootstrap"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  }
  docker info >/dev/null 2>&1 || die "the Docker engine is not reachable (docker info failed)"
}

# The debootstrap tarball of a minbase root, made once per suite.
minbase_tarball() {
  local tarball="$CACHE_DIR/debootstrap-$DEBIAN_SUITE-minbase.tar.gz"
  if [ ! -s "$tarball" ]; then
    mkdir -p "$CACHE_DIR"
    local tmp
    tmp=$(mktemp -d "$CACHE_DIR/.debootstrap.XXXXXX")
    log "downloading a minimal Debian $DEBIAN_SUITE from $DEBIAN_MIRROR (first build only)"
    debootstrap --variant=minbase --make-tarball="$tmp/t.tar.gz" "$DEBIAN_SUITE" "$tmp/root" "$DEBIAN_MIRROR" >&2
    mv "$tmp/t.tar.gz" "$tarball"
    rm -rf "$tmp"
  fi
  printf '%s\n' "$tarball"
}

# Creates a minbase root in $1 from the cached tarball.
make_root() {
  local root=$1 tarball
  tarball=$(minbase_tarball)
  log "unpacking Debian $DEBIAN_SUITE into $root"
  debootstrap --variant=minbase --unpack-tarball="$tarball" "$DEBIAN_SUITE" "$root" "$DEBIAN_MIRROR" >&2
  # Daemons in packages must not start inside the build root.
  printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
  chmod +x "$root/usr/sbin/policy-rc.d"
  printf 'deb %s %s main\ndeb %s %s-updates main\n' "$DEBIAN_MIRROR" "$DEBIAN_SUITE" "$DEBIAN_MIRROR" "$DEBIAN_SUITE" > "$root/etc/apt/sources.list"
  # No docs or man pages: they are a good part of a Debian root and nobody reads them here.
  cat > "$root/etc/dpkg/dpkg.cfg.d/01-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  cp /etc/resolv.conf "$root/etc/resolv.conf"
}

# Runs a command in the root with /proc, /sys and /dev mounted (Java's postinst needs /proc).
in_root() {
  local root=$1; shift
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys"
  mount --rbind /dev "$root/dev"
  local rc=0
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@" || rc=$?
  umount -l "$root/dev" "$root/sys" "$root/proc" 2>/dev/null || true
  return $rc
}

apt_install() {
  local root=$1; shift
  in_root "$root" apt-get update -qq
  in_root "$root" apt-get install -y -qq --no-install-recommends "$@" >&2
  in_root "$root" apt-get clean
  rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin "$root/var/log/"*.log
  rm -f "$root/usr/sbin/policy-rc.d"
  : > "$root/etc/resolv.conf"
}

# Turns the root into the image $2 (a tarball in the cache on the way, so the next build
# after a `docker image rm` is only an import).
import_root() {
  local root=$1 ref=$2 cached=$3
  log "packing the root filesystem"
  tar --numeric-owner -C "$root" -c . | gzip -1 > "$cached.tmp"
  mv "$cached.tmp" "$cached"
  # Roots of older inputs are hundreds of MB each and never used again.
  local old
  for old in "${cached%-*}"-*.tar.gz; do
    [ "$old" = "$cached" ] || rm -f "$old"
  done
  log "importing it as $ref"
  docker import "$cached" "$ref" >/dev/null
}

# docker build of the tiny Dockerfile on top of a local base: no network needed.
build_top() {
  local dir=$1 tag=$2 base=$3 hash=$4
  log "building $tag on $base"
  # The classic builder: BuildKit may try to resolve FROM against a registry.
  DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$base" --label "$LABEL_KEY=$hash" \
    -t "$tag" -f "$dir/Dockerfile.offline" "$dir" >&2
  # The previous build of this tag is now untagged: ours (by label), so ours to remove.
  docker images -q --filter dangling=true --filter "label=$LABEL_KEY" | xargs -r docker image rm >/dev/null 2>&1 || true
}

# The whole build of one image, shared by every build-offline.sh:
#   build_image NAME TAG DIR HASH FORCE PACKAGES [CUSTOMIZE]
# Exits at once when TAG carries HASH. Otherwise the base `sparkswarm/NAME-base:HASH` is
# imported from the cached root, or built: a minbase root, PACKAGES installed, then the
# function CUSTOMIZE (if given) called with the root's path, packed and imported. Finally
# DIR/Dockerfile.offline on top, and older bases of NAME removed.
build_image() {
  local name=$1 tag=$2 dir=$3 hash=$4 force=$5 packages=$6 customize=${7:-}
  if [ "$force" = 0 ] && image_is_current "$tag" "$hash"; then
    log "$tag is up to date (inputs $hash)"
    return 0
  fi
  local base="sparkswarm/$name-base:$hash"
  local cached="$CACHE_DIR/$name-root-$hash.tar.gz"
  if ! docker image inspect "$base" >/dev/null 2>&1; then
    if [ -s "$cached" ] && [ "$force" = 0 ]; then
      log "importing the cached root $cached as $base"
      docker import "$cached" "$base" >/dev/null
    else
      need_root_tools
      # Global, for the EXIT trap.
      build_work=$(mktemp -d "${TMPDIR:-/tmp}/sparkswarm-$name-root.XXXXXX")
      trap 'umount -l "$build_work/root/proc" "$build_work/root/sys" "$build_work/root/dev" 2>/dev/null || true; rm -rf "$build_work"' EXIT
      make_root "$build_work/root"
      log "installing $packages"
      # shellcheck disable=SC2086
      apt_install "$build_work/root" $packages
      if [ -n "$customize" ]; then
        "$customize" "$build_work/root"
      fi
      import_root "$build_work/root" "$base" "$cached"
    fi
  fi
  build_top "$dir" "$tag" "$base" "$hash"
  # Older bases of this image are dead weight once the new one exists.
  docker images --format '{{.Repository}}:{{.Tag}}' "sparkswarm/$name-base" | grep -v ":$hash\$" | xargs -r docker image rm >/dev/null 2>&1 || true
  log "built $tag (inputs $hash)"
}
