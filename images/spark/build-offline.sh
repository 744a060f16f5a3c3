#!/usr/bin/env bash
# Builds sparkswarm/spark:4.0.1 without any image registry: a minimal Debian bookworm root
# (debootstrap, from Debian's mirrors) with Java 17 and Python 3.11 from Debian, pyspark
# and numpy from PyPI (or the wheels in --find-links dirs), `docker import`, then
# Dockerfile.offline on top. Exits at once when the image of these inputs exists.
#
# Usage: images/spark/build-offline.sh [--force]
# Env:   SPARKSWARM_PIP_FIND_LINKS  extra wheel directories (":"-separated)
#        SPARKSWARM_IMAGE_CACHE     cache dir (default ~/.cache/sparkswarm/images)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../common.sh
. "$here/../common.sh"

SPARK_VERSION=4.0.1      # = PYSPARK_VERSION of the local runtime
NUMPY_VERSION=2.4.6
TAG="sparkswarm/spark:$SPARK_VERSION"
PACKAGES="openjdk-17-jre-headless python3 python3-venv python3-pip procps tini ca-certificates"

force=0
[ "${1:-}" = "--force" ] && force=1

hash=$(printf 'pyspark=%s numpy=%s packages=%s\n' "$SPARK_VERSION" "$NUMPY_VERSION" "$PACKAGES" \
  | cat - "$here/../common.sh" "$here/build-offline.sh" "$here/Dockerfile.offline" "$here/entrypoint.sh" \
  | sha256sum | cut -c1-16)

if [ $force = 0 ] && image_is_current "$TAG" "$hash"; then
  log "$TAG is up to date (inputs $hash)"
  exit 0
fi

base="sparkswarm/spark-base:$hash"
cached="$CACHE_DIR/spark-root-$hash.tar.gz"
if ! docker image inspect "$base" >/dev/null 2>&1; then
  if [ -s "$cached" ] && [ $force = 0 ]; then
    log "importing the cached root $cached as $base"
    docker import "$cached" "$base" >/dev/null
  else
    need_root_tools
    work=$(mktemp -d "${TMPDIR:-/tmp}/sparkswarm-spark-root.XXXXXX")
    trap 'umount -l "$work/root/proc" "$work/root/sys" "$work/root/dev" 2>/dev/null || true; rm -rf "$work"' EXIT
    make_root "$work/root"
    log "installing $PACKAGES"
    # shellcheck disable=SC2086
    apt_install "$work/root" $PACKAGES
    cp /etc/resolv.conf "$work/root/etc/resolv.conf"
    # Wheels found on this machine first (pip's cache holds a built pyspark wheel after the
    # local runtime installed it; CI pre-downloads wheels), PyPI for the rest.
    mkdir -p "$work/root/tmp/wheels"
    dirs="${SPARKSWARM_PIP_FIND_LINKS:-}:${PIP_FIND_LINKS:-}:$HOME/.cache/sparkswarm-wheels"
    IFS=: read -r -a wheel_dirs <<< "$dirs"
    for d in "${wheel_dirs[@]}"; do
      [ -n "$d" ] && [ -d "$d" ] && find "$d" -maxdepth 1 \( -name '*.whl' -o -name '*.tar.gz' \) -exec cp {} "$work/root/tmp/wheels/" \;
    done
    find "$HOME/.cache/pip/wheels" -name "pyspark-$SPARK_VERSION-*.whl" -exec cp {} "$work/root/tmp/wheels/" \; 2>/dev/null || true
    log "installing pyspark $SPARK_VERSION and numpy $NUMPY_VERSION (wheels: $(ls "$work/root/tmp/wheels" | tr '\n' ' '))"
    # This machine's CA bundle, for a TLS-intercepting proxy between it and PyPI.
    cp "${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}" "$work/root/tmp/host-ca.crt" 2>/dev/null \
      || cp "$work/root/etc/ssl/certs/ca-certificates.crt" "$work/root/tmp/host-ca.crt"
    in_root "$work/root" python3 -m venv /opt/sparkswarm/venv
    in_root "$work/root" /opt/sparkswarm/venv/bin/pip install -q --no-cache-dir --disable-pip-version-check \
      --cert /tmp/host-ca.crt --find-links /tmp/wheels "pyspark==$SPARK_VERSION" "numpy==$NUMPY_VERSION" >&2
    rm -rf "$work/root/tmp/wheels" "$work/root/tmp/host-ca.crt" "$work/root/root/.cache"
    : > "$work/root/etc/resolv.conf"
    mkdir -p "$work/root/opt/sparkswarm/work"
    import_root "$work/root" "$base" "$cached"
  fi
fi

build_top "$here" "$TAG" "$base" "$hash"
# Older bases of this script are dead weight once the new image exists.
docker images --format '{{.Repository}}:{{.Tag}}' sparkswarm/spark-base | grep -v ":$hash\$" | xargs -r docker image rm >/dev/null 2>&1 || true
log "built $TAG (inputs $hash)"
