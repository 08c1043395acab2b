#!/usr/bin/env bash
# The local demo: a real Dovecot and Postfix on loopback, the Graph simulator with one request
# waiting for approval (and, as Intune documents, refusing decisions by an application), the
# service account signed in once with `reject-bridge login` (the demo approves the device code in
# the simulator, as the operator would in a browser), an approver's reply delivered through
# Postfix, and `reject-bridge run --once` rejecting it as the service account. Prints what Graph
# received, who Intune records as the approver, and the confirmation the approver got.
# Run as root on a fresh Debian machine: bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v dovecot >/dev/null || ! command -v postfix >/dev/null; then
  bash scripts/stack-install.sh
fi
cargo build --quiet --bins

stack="${RB_DEMO_DIR:-/tmp/rb-demo}"
bash scripts/stack-down.sh "$stack" >/dev/null 2>&1 || true
rm -rf "$stack"
bash scripts/stack-up.sh "$stack" >/dev/null
# shellcheck disable=SC1091
source "$stack/env"

request_id="6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
cat > "$stack/seed.json" <<JSON
[{"id": "$request_id", "status": "needsApproval",
  "requestJustification": "Wipe the lost laptop LT-0042",
  "requestor": {"user": {"displayName": "Dana Admin", "userPrincipalName": "dana@example.test"}}}]
JSON

./target/debug/graph-sim --listen 127.0.0.1:0 --seed "$stack/seed.json" \
  --tenant demo-tenant --client-id demo-app --client-secret demo-secret \
  --decisions delegated-only --device-code-interval-secs 1 \
  >"$stack/graph-sim.out" 2>"$stack/graph-sim.log" &
sim_pid=$!
cleanup() {
  kill "$sim_pid" 2>/dev/null || true
  bash scripts/stack-down.sh "$stack" >/dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 50); do grep -q "listening on" "$stack/graph-sim.out" 2>/dev/null && break; sleep 0.1; done
sim_url=$(sed -n 's/^listening on //p' "$stack/graph-sim.out" | head -n1)

cat > "$stack/demo.toml" <<TOML
[imap]
host = "127.0.0.1"
port = $RB_IMAP_PORT
tls = "starttls"
ca_file = "$RB_CA_FILE"
username = "bridge@example.test"
password = "$RB_PASSWORD"

[smtp]
host = "127.0.0.1"
port = $RB_SUBMISSION_PORT
tls = "starttls"
ca_file = "$RB_CA_FILE"
username = "bridge@example.test"
password = "$RB_PASSWORD"
from = "Intune Approvals <bridge@example.test>"

[graph]
base_url = "$sim_url/beta"
authority = "$sim_url"
tenant_id = "demo-tenant"
client_id = "demo-app"
# Decisions as the service account signed in with `reject-bridge login` (a public client).
auth = "delegated"

[approvers]
allowed = ["@example.test"]
trusted_authserv_id = "mx.example.test"

[state]
path = "state.db"
TOML

echo "== reject-bridge login (the service account signs in once; the demo plays its browser)"
./target/debug/reject-bridge login --config "$stack/demo.toml" &
login_pid=$!
python3 - "$sim_url" <<'PY'
import json, sys, time, urllib.request
url = sys.argv[1]
for _ in range(100):
    pending = json.load(urllib.request.urlopen(url + "/_sim/devicecodes"))
    if pending:
        break
    time.sleep(0.1)
body = json.dumps({"user_code": pending[0]["user_code"], "user": {
    "id": "5f0c1a2b-0000-4000-8000-00000000d3m0",
    "userPrincipalName": "svc-maa-bridge@example.test", "displayName": "MAA Bridge"}}).encode()
req = urllib.request.Request(url + "/_sim/devicecodes/approve", data=body,
                             headers={"Content-Type": "application/json"})
urllib.request.urlopen(req)
PY
wait "$login_pid"

echo
echo "== an approver replies (through Postfix, as the trusted MTA would deliver it)"
python3 - "$RB_SMTP_PORT" "$request_id" <<'PY'
import smtplib, sys
port, rid = int(sys.argv[1]), sys.argv[2]
msg = f"""Authentication-Results: mx.example.test; dkim=pass header.d=example.test; dmarc=pass header.from=example.test
From: Alice Approver <alice@example.test>
To: Intune Approvals <bridge@example.test>
Subject: RE: Approval needed: wipe device ({rid})
Message-ID: <demo-reply-1@example.test>
Content-Type: text/plain; charset=utf-8

Not this one: LT-0042 was found this morning. Please cancel.

Thanks,
Alice

-----Original Message-----
From: Intune Approvals <bridge@example.test>
Subject: Approval needed: wipe device ({rid})

Dana Admin asks to wipe LT-0042.
"""
with smtplib.SMTP("127.0.0.1", port) as s:
    s.sendmail("alice@example.test", ["bridge@example.test"], msg.replace("\n", "\r\n").encode())
print(msg)
PY
sleep 1

echo "== reject-bridge run --once"
./target/debug/reject-bridge run --config "$stack/demo.toml" --once

echo
echo "== what Graph received"
python3 - "$sim_url" <<'PY'
import json, sys, urllib.request
calls = json.load(urllib.request.urlopen(sys.argv[1] + "/_sim/calls"))
for c in calls:
    print(f'{c["method"]:4} {c["path"]} -> {c["status"]}', json.dumps(c.get("body")) if c["endpoint"] == "reject" else "")
PY
echo
echo "== the request as Intune now records it (approver: the signed-in service account)"
python3 - "$sim_url" "$request_id" <<'PY'
import json, sys, urllib.request
r = json.load(urllib.request.urlopen(f"{sys.argv[1]}/_sim/requests/{sys.argv[2]}"))
print(json.dumps({k: r.get(k) for k in ("status", "approver", "approvalJustification")}, indent=2))
PY

echo
echo "== the confirmation in alice@example.test's mailbox"
for _ in $(seq 50); do
  found=$(ls "$stack"/mail/example.test/alice/Maildir/new/* 2>/dev/null | head -n1 || true)
  [ -n "$found" ] && break
  sleep 0.2
done
if [ -n "${found:-}" ]; then
  python3 - "$found" <<'PY'
import email, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
for h in ("From", "To", "Subject", "In-Reply-To", "Auto-Submitted", "Message-ID"):
    print(f"{h}: {m[h]}")
print()
print(m.get_body(preferencelist=("plain",)).get_content())
PY
else
  echo "no confirmation arrived" >&2
  exit 1
fi
