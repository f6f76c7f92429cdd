#!/usr/bin/env bash
# Records the bank sample (with and without its fix), the ABBA deadlock sample and the undersized
# pool sample, opens the real viewer window under Xvfb once per panel and saves a PNG of each to
# viewer/docs/screenshots/.
#
# The binary links only libc: X11, xkbcommon and OpenGL are loaded at run time. Under Xvfb
# it needs a virtual X server and Mesa's software OpenGL. On Debian/Ubuntu:
#   apt-get install xvfb xauth libgl1 libgl1-mesa-dri libglx-mesa0 libegl1 \
#       libx11-xcb1 libxcursor1 libxi6 libxrandr2 libxkbcommon-x11-0
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/viewer/docs/screenshots
target=${CARGO_TARGET_DIR:-$root/target}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

command -v xvfb-run >/dev/null || {
    echo "xvfb-run not found: apt-get install xvfb xauth libgl1-mesa-dri libegl1" >&2
    exit 1
}

cd "$root"
cargo build --quiet -p lockscope-viewer -p lockscope-samples
"$target/debug/bank" --trace "$work/bank.lstrace" >/dev/null
"$target/debug/bank" --fix --trace "$work/bank-fixed.lstrace" >/dev/null
# The ABBA sample deadlocks on purpose and exits with status 86 once its trace is written.
"$target/debug/abba" --trace "$work/abba.lstrace" >/dev/null 2>&1 || [ $? -eq 86 ]
# A pool of 2 shared by cores*2+1 request threads: starved most of the run.
"$target/debug/pool_size" --trace "$work/pool_size.lstrace" >/dev/null 2>&1
# The same backpressure through a bounded channel: full most of the run, producers waiting.
"$target/debug/bounded_queue" --channel --trace "$work/channel.lstrace" >/dev/null 2>&1
# Causal experiments over a lock on every request's path and a busier one nobody waits for.
"$target/debug/causal" --causal --duration 6 --trace "$work/causal.lstrace" >/dev/null 2>&1

mkdir -p "$out"
shot() {
    local name=$1
    shift
    # Software rendering: Xvfb has no GPU.
    # From the traces' directory, with their bare names: the window shows the path it was
    # given, and a screenshot should not show this machine's temporary directory.
    (cd "$work" && LIBGL_ALWAYS_SOFTWARE=1 xvfb-run -a -s "-screen 0 1600x1000x24" \
        "$target/debug/lockscope" view "$@" --size 1400x860 --screenshot "$out/$name.png")
    echo "wrote $out/$name.png"
}
for panel in overview flamegraph timeline; do
    shot "$panel" bank.lstrace --panel "$panel"
done
for panel in wait-for alerts; do
    shot "$panel" abba.lstrace --panel "$panel"
done
shot pools pool_size.lstrace --panel pools
shot pools-channel channel.lstrace --panel pools
# The lock table with the hottest lock selected: who made it wait.
shot locks bank.lstrace --panel locks --lock ledger
# The timeline with that lock selected: its own track (who held it, how many waited) on top.
shot timeline-lock bank.lstrace --panel timeline --lock ledger
# The sandwich of the function that waits for the ledger: its callers above, the locks below.
shot sandwich bank.lstrace --frame "bank::Bank::transfer"
# The diff compares the active (last) tab against the other one.
shot diff bank.lstrace bank-fixed.lstrace --panel diff
# Two processes' traces read as one.
shot processes bank.lstrace bank-fixed.lstrace --panel processes
shot causal causal.lstrace --panel causal
