#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine: Debian packages, cargo-nextest,
# the apps' data sets, a running Docker engine and the three images built offline. Every
# step is idempotent, so a machine that has it all goes straight on. `./test.sh` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

export SPARKSWARM_SPARK_CACHE="${SPARKSWARM_SPARK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sparkswarm/spark}"

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
# The swarm tests: debootstrap builds the images, an sshd of their own tests ssh:// endpoints,
# socat fronts the engine with mutual TLS for tcp:// endpoints.
command -v debootstrap >/dev/null 2>&1 || need_apt+=(debootstrap)
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
command -v socat >/dev/null 2>&1 || need_apt+=(socat)
command -v rustfmt >/dev/null 2>&1 || rustup component add rustfmt >/dev/null 2>&1 || true
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy >/dev/null 2>&1 || true
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

if ! cargo nextest --version >/dev/null 2>&1; then
  log "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi

log "preparing the apps' data sets"
python3 apps/prepare_data.py --out apps/data

# The swarm tests run on this machine's Docker engine; their images are built offline
# (debootstrap from Debian's mirrors, pip from PyPI) and only when their inputs changed.
# The engine is normally started with the machine; if it is not running, start it here
# (the tests need a real engine in Swarm mode).
if ! docker info >/dev/null 2>&1 && command -v dockerd >/dev/null 2>&1; then
  log "starting the Docker engine"
  setsid dockerd >>/var/log/dockerd-ci.log 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
fi
if docker info >/dev/null 2>&1; then
  log "building the swarm images (a few minutes the first time, seconds afterwards)"
  images/spark/build-offline.sh
  images/registry/build-offline.sh
  # What the DigitalOcean stand-in boots as droplets: OpenSSH and a Docker engine of their own.
  tests/do_standin/droplet/build-offline.sh
else
  log "the Docker engine is not reachable: the swarm tests will fail and say so"
fi

