#!/usr/bin/env bash
# The test command: starts the local mail stack (a real Dovecot and Postfix on loopback), runs the
# whole test suite against it, checks the reply reader against the public corpus ratchet, and
# stops the stack again, whatever happened.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dovecot >/dev/null || ! command -v postfix >/dev/null; then
  bash scripts/stack-install.sh
fi

# Dovecot and Postfix drop privileges: their state folder and every parent must be traversable by
# other users. A clone under a 0700 folder (root's home, `mktemp -d`) cannot hold it, so the stack
# then lives under /var/tmp, named after the clone so two clones never share one.
traversable() {
    local d="$1"
    while [ "$d" != "/" ]; do
        [ "$(( $(stat -c '%a' "$d") % 10 & 1 ))" = 1 ] || return 1
        d="$(dirname "$d")"
    done
}
if [ -n "${RB_STACK_DIR:-}" ]; then
    stack_dir="$RB_STACK_DIR"
elif traversable "$PWD"; then
    stack_dir="$PWD/.stack"
else
    stack_dir="/var/tmp/reject-bridge-stack-$(printf '%s' "$PWD" | cksum | cut -d' ' -f1)"
    echo "test.sh: $PWD is not traversable by the mail servers' users; the stack lives in $stack_dir"
fi
cleanup() { bash scripts/stack-down.sh "$stack_dir" >/dev/null 2>&1 || true; }
trap cleanup EXIT
bash scripts/stack-down.sh "$stack_dir" >/dev/null 2>&1 || true
bash scripts/stack-up.sh "$stack_dir"
export RB_STACK_DIR="$stack_dir"

RUST_TEST_THREADS="${RB_TEST_THREADS:-4}" cargo test --all-targets --no-fail-fast

corpus="${RB_CORPUS_DIR:-../shared/corpus/public}"
if [ -d "$corpus" ]; then
  cargo run --quiet --example corpus_eval -- --corpus "$corpus" --min "$(cat .ci/corpus-min)"
else
  echo "corpus not found at $corpus: the reader's corpus ratchet was not checked" >&2
  [ -z "${CI:-}" ] || exit 1
fi
