#!/usr/bin/env bash
# Benchmark (not a test): how long from an approver's reply reaching the SMTP server to the Graph
# reject POST, with the daemon idling (IMAP IDLE), over a few dozen replies; median and p99.
# A second IMAP connection IDLEs on the same mailbox and timestamps the server's EXISTS, which
# splits the time into the mail stack's share (Postfix + LMTP + Dovecot's IDLE notification) and
# the bridge's own share (EXISTS → POST: wake up, SEARCH, FETCH, decide, token/GET, POST).
#
#   scripts/idle-latency.sh [COUNT]        (default 40)
#
# Needs a running test stack (scripts/stack-up.sh; RB_STACK_DIR names it, default .stack/) and
# builds the binaries when needed. Uses its own bridge mailbox, graph-sim and state folder.
set -euo pipefail
cd "$(dirname "$0")/.."

count="${1:-40}"
stack="${RB_STACK_DIR:-$PWD/.stack}"
[ -s "$stack/env" ] || { echo "idle-latency.sh: no stack in $stack: run scripts/stack-up.sh (or set RB_STACK_DIR)" >&2; exit 1; }
# shellcheck disable=SC1091
source "$stack/env"
# shellcheck disable=SC1091
source scripts/bench-common.sh
cargo build --quiet --release --bins

work="$(mktemp -d /tmp/rb-idle-latency.XXXXXX)"
sim_pid=""; bridge_pid=""
cleanup() {
    [ -n "$bridge_pid" ] && kill "$bridge_pid" 2>/dev/null || true
    [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

start_bench_sim ./target/release "$work"

bridge="bench-$$-$(date +%s)@example.test"
write_bench_config "$work/bridge.toml" "$bridge" "$sim_url" "idle = true" "poll_interval_secs = 3600"

RUST_LOG=info NO_COLOR=1 ./target/release/reject-bridge run --config "$work/bridge.toml" 2>"$work/bridge.log" &
bridge_pid=$!
for _ in $(seq 200); do grep -q "watching the mailbox" "$work/bridge.log" 2>/dev/null && break; sleep 0.05; done
grep -q "watching the mailbox" "$work/bridge.log" || { echo "the bridge did not start:" >&2; cat "$work/bridge.log" >&2; exit 1; }

python3 - "$count" "$sim_url" "$bridge" "$RB_SMTP_PORT" "$RB_IMAP_PORT" "$RB_PASSWORD" <<'PY'
import json, queue, smtplib, socket, statistics, sys, threading, time, urllib.error, urllib.request, uuid

count, sim, bridge, smtp_port, imap_port, password = sys.argv[1:7]
count, smtp_port, imap_port = int(count), int(smtp_port), int(imap_port)

def sim_post(path, body):
    req = urllib.request.Request(sim + path, json.dumps(body).encode(), {"content-type": "application/json"})
    urllib.request.urlopen(req).read()

def reject_at(rid):
    """When graph-sim saw the reject POST for `rid` (its clock), or None."""
    calls = json.load(urllib.request.urlopen(sim + "/_sim/calls"))
    return next((c["at_ms"] for c in calls if c["endpoint"] == "reject" and c.get("id") == rid), None)

def sim_clock_offset():
    """graph-sim stamps each call in ms since it started: the offset to this clock, from the
    quickest of a few round trips (loopback: well under a millisecond of error)."""
    best = None
    for _ in range(9):
        path = f"/beta/clock-{uuid.uuid4()}"
        t0 = time.monotonic()
        try:
            urllib.request.urlopen(sim + path).read()
        except urllib.error.HTTPError:
            pass
        t1 = time.monotonic()
        calls = json.load(urllib.request.urlopen(sim + "/_sim/calls"))
        at = next(c["at_ms"] for c in calls if c["path"] == path)
        if best is None or t1 - t0 < best[0]:
            best = (t1 - t0, (t0 + t1) / 2 - at / 1000)
    return best[1]

# A watcher idling on the same mailbox: when does Dovecot announce the new message?
events = queue.Queue()
def watch():
    s = socket.create_connection(("127.0.0.1", imap_port)); f = s.makefile("rb")
    f.readline()
    s.sendall(f'a LOGIN "{bridge}" {password}\r\n'.encode())
    while not f.readline().startswith(b"a "): pass
    s.sendall(b"b SELECT INBOX\r\n")
    while not f.readline().startswith(b"b "): pass
    s.sendall(b"c IDLE\r\n"); f.readline()
    while True:
        line = f.readline()
        if not line: return
        if line.endswith(b"EXISTS\r\n"):
            events.put(time.monotonic())
threading.Thread(target=watch, daemon=True).start()
time.sleep(0.5)
offset = sim_clock_offset()

total, stack_share, bridge_share = [], [], []
for i in range(count):
    rid = str(uuid.uuid4())
    sim_post("/_sim/requests", {"id": rid, "status": "needsApproval"})
    approver = f"bench-approver-{i}@example.test"
    msg = (f"Authentication-Results: mx.example.test; dkim=pass header.d=example.test; dmarc=pass header.from=example.test\r\n"
           f"From: <{approver}>\r\nTo: <{bridge}>\r\nSubject: RE: Approval needed ({rid})\r\n"
           f"Message-ID: <bench-{rid}@example.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nNo: {rid}\r\n")
    while not events.empty(): events.get()
    t0 = time.monotonic()
    with smtplib.SMTP("127.0.0.1", smtp_port) as s:
        s.sendmail(approver, [bridge], msg.encode())
    try:
        t_exists = events.get(timeout=30)
    except queue.Empty:
        sys.exit(f"no EXISTS from Dovecot for message {i}")
    deadline = time.monotonic() + 30
    while (at := reject_at(rid)) is None:
        if time.monotonic() > deadline:
            sys.exit(f"no reject POST for message {i} within 30 s")
        time.sleep(0.02)
    t_post = offset + at / 1000
    total.append(t_post - t0); stack_share.append(t_exists - t0); bridge_share.append(t_post - t_exists)
    time.sleep(0.3)  # let the bridge reply, file and go back to IDLE

def p99(xs):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(0.99 * len(xs) + 0.5)) - 1)]
def row(name, xs):
    print(f"{name:48} median {statistics.median(xs)*1000:7.0f} ms   p99 {p99(xs)*1000:7.0f} ms")
print(f"IDLE latency over {count} replies (time from the SMTP submission starting):")
row("delivery -> Graph reject POST (total)", total)
row("delivery -> Dovecot's IDLE EXISTS (mail stack)", stack_share)
row("EXISTS -> Graph reject POST (the bridge's share)", bridge_share)
PY
