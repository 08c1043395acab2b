#!/usr/bin/env bash
# The local demo of the whole loop: a real Dovecot and Postfix on loopback and the Graph simulator
# with an Entra directory (an approver group with a nested group, an Intune approval policy) and
# one request waiting for approval. Decisions are made as Intune documents it: by a user, the
# bridge's service account, signed in once with the device code flow.
#
#   0. `reject-bridge login`: the service account signs in (the "browser" is the simulator's
#      admin API);
#   1. `reject-bridge run --once`: the notifier announces the request to the approvers (the
#      requester and the service account, although in the group, are not told);
#   2. Alice replies to the notification as her mail client would (to its Reply-To, quoting it);
#   3. `reject-bridge run --once`: her reply rejects the request, she gets the confirmation, and
#      Bob gets the follow-up.
#
# Run as root on a fresh Debian machine: bash scripts/demo.sh
# With RB_STACK_DIR naming a mail stack that is already running (scripts/stack-up.sh), the demo
# uses it and leaves it running, with addresses of its own; otherwise it starts a private one in
# RB_DEMO_DIR (default /tmp/rb-demo) and stops it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet --bins

work="${RB_DEMO_DIR:-/tmp/rb-demo}"
if [ -n "${RB_STACK_DIR:-}" ] && [ -f "$RB_STACK_DIR/env" ]; then
  stack="$RB_STACK_DIR"
  own_stack=false
  suffix="-demo$$"
  work="$(mktemp -d /tmp/rb-demo.XXXXXX)"
  chmod 755 "$work"
else
  if ! command -v dovecot >/dev/null || ! command -v postfix >/dev/null; then
    bash scripts/stack-install.sh
  fi
  stack="$work"
  own_stack=true
  suffix=""
  bash scripts/stack-down.sh "$stack" >/dev/null 2>&1 || true
  rm -rf "$stack"
  bash scripts/stack-up.sh "$stack" >/dev/null
fi
mkdir -p "$work"
# shellcheck disable=SC1091
source "$stack/env"

bridge="bridge$suffix@example.test"
alice="alice$suffix@example.test"
bob="bob$suffix@example.test"
dana="dana$suffix@example.test"
svc="svc-intune$suffix@example.test"
request_id="6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
expires=$(date -u -d '+2 days' +%Y-%m-%dT%H:%M:%SZ)
cat > "$work/seed.json" <<JSON
{"requests": [{"id": "$request_id", "status": "needsApproval",
   "requestJustification": "Wipe the lost laptop LT-0042",
   "expirationDateTime": "$expires",
   "payloadName": "LT-0042", "payloadType": "managedDevice", "payloadOperation": "Wipe",
   "requiredOperationApprovalPolicyTypes": ["deviceWipe"],
   "requestor": {"user": {"id": "u-dana", "displayName": "Dana Admin"}}}],
 "users": [
   {"id": "u-alice", "userPrincipalName": "$alice", "displayName": "Alice Approver"},
   {"id": "u-bob", "userPrincipalName": "$bob", "displayName": "Bob Approver"},
   {"id": "u-dana", "userPrincipalName": "$dana", "displayName": "Dana Admin"},
   {"id": "u-svc", "userPrincipalName": "$svc", "displayName": "Intune rejection bridge"}],
 "groups": [
   {"id": "g-approvers", "displayName": "Intune approvers",
    "members": ["u-alice", "g-leads", "u-svc"]},
   {"id": "g-leads", "displayName": "Helpdesk leads", "members": ["u-bob", "u-dana"]}],
 "policies": [
   {"id": "p-wipe", "displayName": "Device wipes", "policyType": "deviceWipe",
    "approverGroupIds": ["g-approvers"]}]}
JSON

./target/debug/graph-sim --listen 127.0.0.1:0 --seed "$work/seed.json" \
  --tenant demo-tenant --client-id demo-app \
  --decisions delegated-only --device-code-interval-secs 1 \
  >"$work/graph-sim.out" 2>"$work/graph-sim.log" &
sim_pid=$!
cleanup() {
  kill "$sim_pid" 2>/dev/null || true
  if [ "$own_stack" = true ]; then
    bash scripts/stack-down.sh "$stack" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
for _ in $(seq 50); do grep -q "listening on" "$work/graph-sim.out" 2>/dev/null && break; sleep 0.1; done
sim_url=$(sed -n 's/^listening on //p' "$work/graph-sim.out" | head -n1)

cat > "$work/demo.toml" <<TOML
[imap]
host = "127.0.0.1"
port = $RB_IMAP_PORT
tls = "starttls"
ca_file = "$RB_CA_FILE"
username = "$bridge"
password = "$RB_PASSWORD"

[smtp]
host = "127.0.0.1"
port = $RB_SUBMISSION_PORT
tls = "starttls"
ca_file = "$RB_CA_FILE"
username = "$bridge"
password = "$RB_PASSWORD"
from = "Intune Approvals <$bridge>"

[graph]
base_url = "$sim_url/beta"
authority = "$sim_url"
tenant_id = "demo-tenant"
client_id = "demo-app"
# Decisions as the service account signed in with reject-bridge login (a public client).
auth = "delegated"

[approvers]
allowed = ["@example.test"]
trusted_authserv_id = "mx.example.test"

[notify]
enabled = true
resolve = "approver-groups"

[state]
path = "state.db"
TOML

maildir() { # address -> its INBOX maildir
  local user="${1%@*}" domain="${1#*@}"
  echo "$stack/mail/$domain/$user/Maildir"
}

wait_mail() { # address count: wait until the INBOX holds count messages
  for _ in $(seq 100); do
    n=$( (find "$(maildir "$1")/new" "$(maildir "$1")/cur" -type f 2>/dev/null || true) | wc -l)
    [ "$n" -ge "$2" ] && return 0
    sleep 0.1
  done
  echo "demo: $1 did not receive $2 message(s)" >&2
  exit 1
}

show() { # file [headers...]: print a message's headers and text part
  python3 - "$@" <<'PY'
import email, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
for h in sys.argv[2:]:
    if m[h] is not None:
        print(f"{h}: {m[h]}")
print()
print(m.get_body(preferencelist=("plain",)).get_content().rstrip())
PY
}

newest() { # address: the newest message file in the INBOX
  (ls -t "$(maildir "$1")"/new/* "$(maildir "$1")"/cur/* 2>/dev/null || true) | head -n1
}

echo "== 0. reject-bridge login: the service account signs in once"
./target/debug/reject-bridge login --config "$work/demo.toml" >"$work/login.out" 2>&1 &
login_pid=$!
python3 - "$sim_url" "$svc" <<'PY'
import json, sys, time, urllib.request
url, svc = sys.argv[1], sys.argv[2]
for _ in range(100):
    pending = json.load(urllib.request.urlopen(url + "/_sim/devicecodes"))
    if pending:
        break
    time.sleep(0.1)
code = pending[0]["user_code"]
print(f"-- in the browser: code {code} entered, signed in as {svc}")
body = {"user_code": code, "user": {"id": "u-svc", "userPrincipalName": svc, "displayName": "Intune rejection bridge"}}
req = urllib.request.Request(url + "/_sim/devicecodes/approve", json.dumps(body).encode(),
                             {"content-type": "application/json"})
urllib.request.urlopen(req)
PY
wait "$login_pid"
tail -n 2 "$work/login.out"

echo
echo "== 1. reject-bridge run --once: the notifier announces the request"
./target/debug/reject-bridge run --config "$work/demo.toml" --once 2>"$work/run1.log"
wait_mail "$alice" 1
wait_mail "$bob" 1
note=$(newest "$alice")
echo "-- the notification in $alice's mailbox:"
show "$note" From To Reply-To Subject Message-ID Auto-Submitted
echo
told_dana=$( (find "$(maildir "$dana")" -type f 2>/dev/null || true) | wc -l)
told_svc=$( (find "$(maildir "$svc")" -type f 2>/dev/null || true) | wc -l)
echo "-- $bob got his own; in the group too, $dana (the requester) got $told_dana, $svc (the bridge's service account) got $told_svc"

echo
echo "== 2. Alice replies to the notification, as her mail client would"
python3 - "$RB_SMTP_PORT" "$note" "$alice" <<'PY'
import email, smtplib, sys
from email import policy
from email.utils import formatdate
port, path, alice = int(sys.argv[1]), sys.argv[2], sys.argv[3]
n = email.message_from_binary_file(open(path, "rb"), policy=policy.default)
reply_to = n["Reply-To"].addresses[0].addr_spec
quoted = "".join(f"> {l}\n" for l in n.get_body(preferencelist=("plain",)).get_content().splitlines())
msg = f"""Authentication-Results: mx.example.test; dkim=pass header.d=example.test; dmarc=pass header.from=example.test
From: Alice Approver <{alice}>
To: Intune Approvals <{reply_to}>
Subject: RE: {n["Subject"]}
Message-ID: <demo-reply-1@client.example.test>
In-Reply-To: {n["Message-ID"]}
References: {n["Message-ID"]}
Date: {formatdate()}
Content-Type: text/plain; charset=utf-8

Not this one: LT-0042 was found this morning.

Alice

On {formatdate()}, Intune Approvals wrote:
{quoted}"""
with smtplib.SMTP("127.0.0.1", port) as s:
    s.sendmail(alice, [reply_to], msg.replace("\n", "\r\n").encode())
print("\n".join(msg.splitlines()[1:14]))
print("> ...")
PY
sleep 1

echo
echo "== 3. reject-bridge run --once: the reply rejects; the notifier follows up"
./target/debug/reject-bridge run --config "$work/demo.toml" --once 2>"$work/run2.log"

echo
echo "-- what Graph received:"
python3 - "$sim_url" <<'PY'
import json, sys, urllib.request
calls = json.load(urllib.request.urlopen(sys.argv[1] + "/_sim/calls"))
for c in calls:
    if c["endpoint"] in ("get", "reject"):
        print(f'{c["method"]:4} {c["path"]} -> {c["status"]}', json.dumps(c.get("body")) if c["endpoint"] == "reject" else "")
PY

echo
echo "-- the request as Intune now records it (approver: the signed-in service account):"
python3 - "$sim_url" "$request_id" <<'PY'
import json, sys, urllib.request
r = json.load(urllib.request.urlopen(f"{sys.argv[1]}/_sim/requests/{sys.argv[2]}"))
print(json.dumps({k: r.get(k) for k in ("status", "approver", "approvalJustification")}, indent=2))
PY

wait_mail "$alice" 2
echo
echo "-- the confirmation in $alice's mailbox:"
show "$(newest "$alice")" Subject In-Reply-To Auto-Submitted

wait_mail "$bob" 2
echo
echo "-- the follow-up in $bob's mailbox:"
show "$(newest "$bob")" Subject In-Reply-To
