#!/usr/bin/env bash
# Benchmark (not a test): how long from an approver's reply reaching the SMTP server to the Graph
# reject POST, with the daemon idling (IMAP IDLE), over a few dozen replies; median and p99.
# Two phases in the same run: first an IMAP client of ours IDLEs on a mailbox of its own and
# timestamps Dovecot's EXISTS for each reply delivered there (the mail stack's own delay: Postfix,
# LMTP, Dovecot's IDLE notification); then the bridge IDLEs on its mailbox and the same replies go
# there, timed to the reject POST as graph-sim saw it (its clock, aligned with ours to well under a
# millisecond). What the bridge adds is the difference of the two. (Watching the bridge's own
# mailbox with a second client does not work: the bridge often files a reply before Dovecot tells
# the second client it arrived, and then Dovecot tells it nothing.)
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

start_bridge() {
    RUST_LOG=info NO_COLOR=1 ./target/release/reject-bridge run --config "$work/bridge.toml" 2>"$work/bridge.log" &
    bridge_pid=$!
    for _ in $(seq 200); do grep -q "watching the mailbox" "$work/bridge.log" 2>/dev/null && break; sleep 0.05; done
    grep -q "watching the mailbox" "$work/bridge.log" || { echo "the bridge did not start:" >&2; cat "$work/bridge.log" >&2; exit 1; }
}
probe="probe-$$-$(date +%s)@example.test"
fifo="$work/phase"
mkfifo "$fifo"

python3 - "$count" "$sim_url" "$bridge" "$probe" "$RB_SMTP_PORT" "$RB_IMAP_PORT" "$RB_PASSWORD" "$fifo" <<'PY' &
import json, queue, smtplib, socket, statistics, sys, threading, time, urllib.error, urllib.request, uuid

count, sim, bridge, probe, smtp_port, imap_port, password, fifo = sys.argv[1:9]
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

def reply(i, rid, to):
    approver = f"bench-approver-{i}@example.test"
    return approver, (f"Authentication-Results: mx.example.test; dkim=pass header.d=example.test; dmarc=pass header.from=example.test\r\n"
           f"From: <{approver}>\r\nTo: <{to}>\r\nSubject: RE: Approval needed ({rid})\r\n"
           f"Message-ID: <bench-{rid}@example.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nNo: {rid}\r\n")

def deliver(i, rid, to):
    approver, msg = reply(i, rid, to)
    with smtplib.SMTP("127.0.0.1", smtp_port) as s:
        t0 = time.monotonic()
        s.sendmail(approver, [to], msg.encode())
    return t0

# Phase 1: the mail stack alone. A client of ours IDLEs on the probe mailbox and, like the bridge,
# ends IDLE on each new message, moves it out of the mailbox and IDLEs again (Dovecot tells a
# session that has just changed the mailbox later than one that has not: the comparison must be
# with a client that does what the bridge does).
events = queue.Queue()
def watch():
    s = socket.create_connection(("127.0.0.1", imap_port)); f = s.makefile("rb")
    def command(tag, text):
        s.sendall(f"{tag} {text}\r\n".encode())
        while not f.readline().startswith(tag.encode() + b" "): pass
    f.readline()
    command("a", f'LOGIN "{probe}" {password}')
    command("b", 'CREATE "Moved"')
    command("c", "SELECT INBOX")
    n = 0
    while True:
        n += 1
        s.sendall(f"i{n} IDLE\r\n".encode()); f.readline()
        while True:
            line = f.readline()
            if not line: return
            if line.endswith(b"EXISTS\r\n") and not line.startswith(b"* 0 "):
                events.put(time.monotonic())
                break
        s.sendall(b"DONE\r\n")
        while not f.readline().startswith(f"i{n} ".encode()): pass
        command(f"m{n}", 'UID MOVE 1:* "Moved"')
threading.Thread(target=watch, daemon=True).start()
time.sleep(0.5)
stack = []
for i in range(count):
    while not events.empty(): events.get()
    t0 = deliver(i, str(uuid.uuid4()), probe)
    try:
        stack.append(events.get(timeout=30) - t0)
    except queue.Empty:
        sys.exit(f"no EXISTS from Dovecot for probe message {i}")
    time.sleep(0.3)

# Phase 2: the bridge IDLEs on its mailbox (the shell starts it when told).
with open(fifo, "w") as f:
    f.write("start\n")
with open(fifo) as f:
    f.readline()
offset = sim_clock_offset()
total = []
for i in range(count):
    rid = str(uuid.uuid4())
    sim_post("/_sim/requests", {"id": rid, "status": "needsApproval"})
    t0 = deliver(i, rid, bridge)
    deadline = time.monotonic() + 30
    while (at := reject_at(rid)) is None:
        if time.monotonic() > deadline:
            sys.exit(f"no reject POST for message {i} within 30 s")
        time.sleep(0.02)
    total.append(offset + at / 1000 - t0)
    time.sleep(0.3)  # let the bridge reply, file and go back to IDLE

def p99(xs):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(0.99 * len(xs) + 0.5)) - 1)]
def row(name, xs):
    print(f"{name:52} median {statistics.median(xs)*1000:6.1f} ms   p99 {p99(xs)*1000:6.1f} ms")
print(f"IDLE latency over {count} replies each (from the SMTP submission of the reply):")
row("delivery -> Dovecot's IDLE EXISTS (the mail stack)", stack)
row("delivery -> Graph reject POST (with the bridge)", total)
print(f"{'the bridge adds (difference of the medians)':52} {(statistics.median(total) - statistics.median(stack))*1000:6.1f} ms")
PY
py_pid=$!
read -r _ <"$fifo"
start_bridge
echo started >"$fifo"
wait "$py_pid"
