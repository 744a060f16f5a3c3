#!/usr/bin/env bash
# The short fuzz run CI does after the tests: both targets built once (release, sanitizer
# none: the operator has no unsafe code for a sanitizer to watch), then each run for
# SPARKSWARM_FUZZ_SECONDS (30) from the committed corpus. A crash, a hang or a lost byte
# fails the run; the input is left in fuzz/artifacts/<target>/.
# Long runs: see BENCHMARKS.md (issue 10).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${SPARKSWARM_FUZZ_SECONDS:-30}"
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi
# cargo-fuzz needs nightly flags; only the stable toolchain is installed.
export RUSTC_BOOTSTRAP=1
flags=(--sanitizer none --codegen-units 4)
cargo fuzz build "${flags[@]}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for target in parse_validate splice_status; do
  # New inputs go to a scratch copy: the committed corpus stays small and minimized.
  mkdir -p "$work/$target"
  cp fuzz/corpus/"$target"/* "$work/$target"/
  cargo fuzz run "${flags[@]}" "$target" "$work/$target" -- \
    -max_total_time="$secs" -max_len=65536 -timeout=10 -print_final_stats=1
done
