#!/usr/bin/env bash
# All tests: unit, property, end-to-end on a real Spark, and the schema freshness check.
set -euo pipefail
cd "$(dirname "$0")"
export SPARKSWARM_SPARK_CACHE="${SPARKSWARM_SPARK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sparkswarm/spark}"
python3 apps/prepare_data.py --out apps/data >/dev/null
cargo nextest run --workspace --locked --no-fail-fast "$@"
