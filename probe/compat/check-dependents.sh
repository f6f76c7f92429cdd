#!/usr/bin/env bash
# 1. Runs published crates' own test suites with the parking_lot drop-in patched in for the real
# parking_lot 0.12: r2d2 (a connection pool: Mutex + Condvar) and scheduled-thread-pool (a
# thread pool: Mutex + Condvar), each exactly as published on crates.io, plus one
# `[patch.crates-io]` entry. Fails unless every suite passes and the build really used the
# drop-in.
# 2. Runs probe/compat/demo, where a dependency written against parking_lot deadlocks two named
# threads, and checks lockscope's report names both threads and the dependency's lines.
#
#   bash probe/compat/check-dependents.sh        (from anywhere; prints the pass counts)
#
# The suites build in target/dependents (their own dependency graphs, so their own build).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="$root/target/dependents"
crates=("r2d2=0.8.10" "scheduled-thread-pool=0.2.7")
# Tests left out, and why. r2d2's `events` asserts that a broken connection's Release event is
# logged before its replacement's Acquire event, but r2d2 logs them from two threads with no
# order between them (the replacement is connected on its thread pool): it fails with
# crates.io's parking_lot too (3 of 9 runs here), and with the drop-in's timing, always when
# run after the other tests. Suites run one test at a time: several of them time
# `thread::sleep`s against r2d2's reaper thread.
declare -A skip=([r2d2]="--skip test::events")

# Fetch the exact published versions through cargo, then copy each crate's source.
mkdir -p "$work/fetch/src"
: >"$work/fetch/src/lib.rs"
{
  printf '[package]\nname = "fetch"\nversion = "0.0.0"\nedition = "2021"\n[workspace]\n[dependencies]\n'
  for c in "${crates[@]}"; do printf '%s = "=%s"\n' "${c%%=*}" "${c#*=}"; done
} >"$work/fetch/Cargo.toml"
cargo metadata -q --format-version 1 --manifest-path "$work/fetch/Cargo.toml" >"$work/meta.json"

# lockscope's own locks are plain parking_lot 0.13 ones, and no dependency of the probe takes
# parking_lot 0.12: so the patch never turns a lock inside lockscope into an instrumented one.
if (cd "$root" && cargo tree -q -p lockscope -e normal --all-features) | grep -q "parking_lot v0\.12"; then
  echo "a dependency of the probe uses parking_lot 0.12: the drop-in would instrument lockscope's own locks" >&2
  exit 1
fi

total=0
for c in "${crates[@]}"; do
  name=${c%%=*}
  manifest=$(python3 - "$work/meta.json" "$name" <<'PY'
import json, sys
meta = json.load(open(sys.argv[1]))
print(next(p["manifest_path"] for p in meta["packages"] if p["name"] == sys.argv[2]))
PY
)
  cp -r "$(dirname "$manifest")" "$work/$name"
  cat >>"$work/$name/Cargo.toml" <<TOML

[workspace]

[patch.crates-io]
parking_lot = { path = "$root/probe/compat/parking_lot" }
TOML
  # The drop-in must be what the suite links, not crates.io's parking_lot.
  if ! (cd "$work/$name" && cargo tree -q -i parking_lot@0.12.5 --edges normal) | head -1 | grep -q "probe/compat/parking_lot"; then
    echo "$name: the parking_lot patch did not apply" >&2
    exit 1
  fi
  log="$work/$name.log"
  # shellcheck disable=SC2086 # the skip list is words
  if ! (cd "$work/$name" && cargo test -q -- --test-threads=1 ${skip[$name]:-} 2>&1) >"$log"; then
    cat "$log" >&2
    echo "$name: its test suite failed with the parking_lot drop-in" >&2
    exit 1
  fi
  passed=$(grep -Eo 'test result: ok\. [0-9]+ passed' "$log" | awk '{s += $4} END {print s + 0}')
  if [ "$passed" -eq 0 ]; then
    cat "$log" >&2
    echo "$name: no test ran" >&2
    exit 1
  fi
  echo "$name ${c#*=}: $passed tests passed with the parking_lot drop-in"
  total=$((total + passed))
done
echo "all dependents' suites passed: $total tests"

# A deadlock inside a dependency, reported with both threads named.
out="$work/demo.out"
set +e
(cd "$root/probe/compat/demo" && LOCKSCOPE_ON_DEADLOCK=exit timeout 300 cargo run -q) >"$out" 2>&1
status=$?
set -e
if [ "$status" -ne 86 ] || ! grep -q 'thread "teller-1"' "$out" || ! grep -q 'thread "teller-2"' "$out" \
  || ! grep -q 'ledger::transfer (ledger/src/lib.rs:' "$out"; then
  cat "$out" >&2
  echo "demo: expected lockscope's deadlock report naming teller-1, teller-2 and ledger::transfer, and exit 86 (got $status)" >&2
  exit 1
fi
echo "demo: the deadlock inside the ledger dependency was reported, naming both tellers (exit 86)"
