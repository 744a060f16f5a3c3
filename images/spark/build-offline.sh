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

# What a standalone master or worker and a PySpark driver never load, about 160 MB of the
# image (BENCHMARKS.md, issue 15), which every droplet would otherwise be sent: RocksDB's JNI
# (state stores of streaming queries and the history server's disk store, 69 MB), the
# Kubernetes backend and its client, pip and setuptools in the venv (a job's deps are built by
# the operator, not in a container), locales, docs and man pages. Hive, Spark Connect and
# the Scala compiler stay: a user's job may ask for them by configuration.
trim() {
  local root=$1 site="$1/opt/sparkswarm/venv/lib/python3.11/site-packages"
  rm -f "$site"/pyspark/jars/rocksdbjni-*.jar "$site"/pyspark/jars/spark-kubernetes_*.jar \
    "$site"/pyspark/jars/kubernetes-*.jar "$site"/pyspark/jars/volcano-*.jar \
    "$site"/pyspark/jars/vertx-*.jar "$site"/pyspark/jars/zjsonpatch-*.jar
  rm -rf "$site"/pip "$site"/pip-*.dist-info "$site"/setuptools "$site"/setuptools-*.dist-info \
    "$site"/pkg_resources "$site"/_distutils_hack "$site"/distutils-precedence.pth \
    "$root"/opt/sparkswarm/venv/bin/pip "$root"/opt/sparkswarm/venv/bin/pip3*
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'C.*' -exec rm -rf {} +
  rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
}

# Python packages into a venv, from the wheels found on this machine first.
customize() {
  local root=$1
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # Wheels found on this machine first (pip's cache holds a built pyspark wheel after the
  # local runtime installed it; CI pre-downloads wheels), PyPI for the rest.
  mkdir -p "$root/tmp/wheels"
  local dirs d wheel_dirs
  dirs="${SPARKSWARM_PIP_FIND_LINKS:-}:${PIP_FIND_LINKS:-}:$HOME/.cache/sparkswarm-wheels"
  IFS=: read -r -a wheel_dirs <<< "$dirs"
  for d in "${wheel_dirs[@]}"; do
    [ -n "$d" ] && [ -d "$d" ] && find "$d" -maxdepth 1 \( -name '*.whl' -o -name '*.tar.gz' \) -exec cp {} "$root/tmp/wheels/" \;
  done
  find "$HOME/.cache/pip/wheels" -name "pyspark-$SPARK_VERSION-*.whl" -exec cp {} "$root/tmp/wheels/" \; 2>/dev/null || true
  log "installing pyspark $SPARK_VERSION and numpy $NUMPY_VERSION (wheels: $(ls "$root/tmp/wheels" | tr '\n' ' '))"
  # This machine's CA bundle, for a TLS-intercepting proxy between it and PyPI.
  cp "${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}" "$root/tmp/host-ca.crt" 2>/dev/null \
    || cp "$root/etc/ssl/certs/ca-certificates.crt" "$root/tmp/host-ca.crt"
  in_root "$root" python3 -m venv /opt/sparkswarm/venv
  in_root "$root" /opt/sparkswarm/venv/bin/pip install -q --no-cache-dir --disable-pip-version-check \
    --cert /tmp/host-ca.crt --find-links /tmp/wheels "pyspark==$SPARK_VERSION" "numpy==$NUMPY_VERSION" >&2
  rm -rf "$root/tmp/wheels" "$root/tmp/host-ca.crt" "$root/root/.cache"
  trim "$root"
  : > "$root/etc/resolv.conf"
  mkdir -p "$root/opt/sparkswarm/work"
}

build_image spark "$TAG" "$here" "$hash" "$force" "$PACKAGES" customize
