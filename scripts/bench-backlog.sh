#!/usr/bin/env bash
# Benchmark (not a test): how fast a backlog of replies drains, against the real mail stack and
# graph-sim, side by side in the same run with a protocol floor: a client that sends the very
# same IMAP, HTTP and SMTP commands per reply with no logic at all (one connection each, one
# message at a time), so the ratio stays honest on a noisy machine. Prints replies/s for both,
# their ratio, and the bridge's peak RSS. Asserts nothing.
#
#   scripts/bench-backlog.sh [COUNT]        (default 1000)
#
# Per reply, both sides: UID FETCH BODY.PEEK[] → GET the request → POST its reject → SMTP send
# the confirmation → UID MOVE to Processed. The bridge also reads and decides each reply and keeps
# its journal (every intent synced before its side effect); the floor does none of that.
#
# Needs a running stack (scripts/stack-up.sh; RB_STACK_DIR names it, default .stack/). Builds the
# release binaries. Uses its own mailboxes, graph-sim and state folder.
set -euo pipefail
cd "$(dirname "$0")/.."

count="${1:-1000}"
stack="${RB_STACK_DIR:-$PWD/.stack}"
[ -s "$stack/env" ] || { echo "bench-backlog.sh: no stack in $stack: run scripts/stack-up.sh (or set RB_STACK_DIR)" >&2; exit 1; }
# shellcheck disable=SC1091
source "$stack/env"
# shellcheck disable=SC1091
source scripts/bench-common.sh
cargo build --quiet --release --bins

work="$(mktemp -d /tmp/rb-bench-backlog.XXXXXX)"
sim_pid=""
cleanup() {
    [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

start_bench_sim ./target/release "$work" --page-size 1000

stamp="$$-$(date +%s)"
bridge="backlog-bridge-$stamp@example.test"
floor="backlog-floor-$stamp@example.test"
write_bench_config "$work/bridge.toml" "$bridge" "$sim_url"

python3 scripts/bench_backlog.py "$count" "$sim_url" "$bridge" "$floor" "$work" \
    "$RB_SMTP_PORT" "$RB_IMAP_PORT" "$RB_SUBMISSION_PORT" "$RB_PASSWORD" "$RB_CA_FILE"
