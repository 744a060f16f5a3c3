#!/usr/bin/env bash
# All tests: unit, property, the fuzz corpora replayed, end-to-end on a real Spark, Docker Swarm
# and the DigitalOcean stand-in, and the schema freshness check. SPARKSWARM_FUZZ=1 adds a short
# fuzz run (fuzz/ci.sh: an instrumented rebuild of the crate, about 10 minutes on 2 cores).
# On a fresh machine it first installs what they need (scripts/setup.sh: Debian packages,
# nextest, data sets, the images built offline);
# SPARKSWARM_SKIP_SETUP=1 skips that on a machine known to have it all.
set -euo pipefail
cd "$(dirname "$0")"
export SPARKSWARM_SPARK_CACHE="${SPARKSWARM_SPARK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sparkswarm/spark}"
if [ "${SPARKSWARM_SKIP_SETUP:-0}" != 1 ]; then
  scripts/setup.sh
fi
printf '\n==> gates: cargo fmt --check, cargo clippy -D warnings\n'
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
printf '\n==> running the tests\n'
cargo nextest run --workspace --locked --no-fail-fast "$@"
if [ "${SPARKSWARM_FUZZ:-0}" = 1 ]; then
  printf '\n==> a short fuzz run of the manifest reader and the status splice\n'
  fuzz/ci.sh
fi
