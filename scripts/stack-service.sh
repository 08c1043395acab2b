#!/usr/bin/env bash
# Stops or starts ONE daemon of the private mail stack started by scripts/stack-up.sh, with the
# configuration stack-up.sh wrote, leaving the other running and the mailboxes untouched: for
# tests of what the bridge does when its IMAP or SMTP server goes away and comes back.
#
#   scripts/stack-service.sh STATE_DIR dovecot|postfix stop|start
#
# stop: signals the master by its pid file and waits until it is gone (SIGKILL after 10 s); for
# Dovecot also the processes it had started (client sessions outlive the master otherwise).
# start: starts it again and returns once its ports answer.
set -euo pipefail

state="${1:?usage: stack-service.sh STATE_DIR dovecot|postfix stop|start}"
what="${2:?usage: stack-service.sh STATE_DIR dovecot|postfix stop|start}"
action="${3:?usage: stack-service.sh STATE_DIR dovecot|postfix stop|start}"
state="$(cd "$state" && pwd)"
# shellcheck disable=SC1091
source "$state/env"

wait_gone() { for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.2; done; return 1; }
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
    for _ in $(seq 1 150); do answers "$1" && return 0; sleep 0.2; done
    echo "stack-service.sh: port $1 does not answer after 30 s; logs in $state/log/" >&2
    return 1
}

case "$what:$action" in
dovecot:stop)
    pid="$(tr -d ' \n' < "$state/run/master.pid" 2>/dev/null || true)"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        # The master's children (imap, lmtp, auth, ...): client sessions outlive a stopped
        # master, so they are ended too, as a server going down would end them.
        children="$(ps -o pid= --ppid "$pid" | tr -d ' ' | tr '\n' ' ')"
        kill "$pid"
        wait_gone "$pid" || kill -9 "$pid" 2>/dev/null || true
        for c in $children; do kill "$c" 2>/dev/null || true; done
        for c in $children; do wait_gone "$c" || kill -9 "$c" 2>/dev/null || true; done
    fi
    ;;
dovecot:start)
    dovecot -c "$state/dovecot.conf" </dev/null >>"$state/log/dovecot-start.log" 2>&1
    wait_port "$RB_IMAP_PORT"
    wait_port "$RB_IMAPS_PORT"
    for _ in $(seq 1 150); do [ -S "$state/run/lmtp" ] && break; sleep 0.2; done
    ;;
postfix:stop)
    pid="$(tr -d ' \n' < "$state/postfix-queue/pid/master.pid" 2>/dev/null || true)"
    postfix -c "$state/postfix" stop >/dev/null 2>&1 || true
    if [ -n "$pid" ]; then wait_gone "$pid" || kill -9 "$pid" 2>/dev/null || true; fi
    ;;
postfix:start)
    postfix -c "$state/postfix" start </dev/null >>"$state/log/postfix-start.log" 2>&1
    wait_port "$RB_SMTP_PORT"
    wait_port "$RB_SUBMISSION_PORT"
    ;;
*)
    echo "stack-service.sh: expected dovecot|postfix and stop|start, got '$what' '$action'" >&2
    exit 2
    ;;
esac
echo "stack-service.sh: $what: $action done ($state)"
