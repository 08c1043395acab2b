#!/usr/bin/env bash
# Stops the private mail stack started by scripts/stack-up.sh in STATE_DIR (default .stack/ in the
# repository root): Postfix with `postfix -c DIR stop`, Dovecot by the master pid it wrote. Only
# these two instances are touched; the state folder (mail, logs, certificates) is kept.
#
#   scripts/stack-down.sh [STATE_DIR]
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
state="${1:-$root/.stack}"
if [ ! -d "$state" ]; then
    echo "stack-down.sh: no stack in $state"
    exit 0
fi
state="$(cd "$state" && pwd)"

wait_gone() { # pid: wait up to 10 s for it to exit
    for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.2; done
    return 1
}

pf_pid_file="$state/postfix-queue/pid/master.pid"
if [ -s "$pf_pid_file" ]; then
    pid="$(tr -d ' \n' < "$pf_pid_file")"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        postfix -c "$state/postfix" stop >/dev/null 2>&1 || kill "$pid" 2>/dev/null
        wait_gone "$pid" || kill -9 "$pid" 2>/dev/null
    fi
fi

dc_pid_file="$state/run/master.pid"
if [ -s "$dc_pid_file" ]; then
    pid="$(tr -d ' \n' < "$dc_pid_file")"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null
        wait_gone "$pid" || kill -9 "$pid" 2>/dev/null
    fi
fi
echo "stack-down.sh: mail stack in $state stopped"
