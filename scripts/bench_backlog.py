"""The measuring half of scripts/bench-backlog.sh (see there): fills two mailboxes with the same
backlog, drains one with `reject-bridge run --once` and the other with the protocol floor, and
prints the figures. Standard library only."""

import http.client
import imaplib
import json
import resource
import smtplib
import ssl
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from email.message import EmailMessage

(count, sim, bridge, floor, work, smtp_port, imap_port, submission_port, password,
 ca_file) = sys.argv[1:11]
count, smtp_port, imap_port, submission_port = int(count), int(smtp_port), int(imap_port), int(submission_port)
AUTH = ("Authentication-Results: mx.example.test; dkim=pass header.d=example.test; "
        "dmarc=pass header.from=example.test")


def sim_post(path, body):
    req = urllib.request.Request(sim + path, json.dumps(body).encode(), {"content-type": "application/json"})
    urllib.request.urlopen(req).read()


def fill(mailbox, ids):
    """Delivers one reply per request to `mailbox` through Postfix's delivery port."""
    with smtplib.SMTP("127.0.0.1", smtp_port) as s:
        for i, rid in enumerate(ids):
            approver = f"backlog-approver-{i}@example.test"
            msg = (f"{AUTH}\r\nFrom: <{approver}>\r\nTo: <{mailbox}>\r\n"
                   f"Subject: RE: Approval needed ({rid})\r\nMessage-ID: <backlog-{rid}@example.test>\r\n"
                   f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}\r\n"
                   f"Content-Type: text/plain; charset=utf-8\r\n\r\n"
                   f"Not today, the change window is closed.\r\n\r\n> Approval needed for {rid}\r\n")
            s.sendmail(approver, [mailbox], msg.encode())


def imap(user):
    ctx = ssl.create_default_context(cafile=ca_file)
    m = imaplib.IMAP4("127.0.0.1", imap_port)
    m.starttls(ssl_context=ctx)
    m.login(user, password)
    return m


def wait_filled(user, n):
    m = imap(user)
    deadline = time.monotonic() + 600
    while True:
        typ, data = m.status("INBOX", "(MESSAGES)")
        have = int(data[0].split()[-1].strip(b")"))
        if have >= n:
            break
        if time.monotonic() > deadline:
            sys.exit(f"{user}: only {have} of {n} messages delivered after 600 s")
        time.sleep(0.5)
    m.logout()


def floor_drain(user, sim_url):
    """The protocol floor: the same commands per reply as the bridge, no logic."""
    m = imap(user)
    m.create("Processed")
    m.select("INBOX")
    typ, data = m.uid("SEARCH", None, "ALL")
    uids = data[0].split()
    parsed = urllib.parse.urlparse(sim_url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port)
    ctx = ssl.create_default_context(cafile=ca_file)
    smtp = smtplib.SMTP("127.0.0.1", submission_port)
    smtp.starttls(context=ctx)
    smtp.login(user, password)
    token = get_token(conn)
    for uid in uids:
        typ, data = m.uid("FETCH", uid, "(BODY.PEEK[])")
        raw = data[0][1]
        subject = next(l for l in raw.split(b"\r\n") if l.startswith(b"Subject:")).decode()
        rid = subject.rsplit("(", 1)[1].rstrip(")")
        sender = next(l for l in raw.split(b"\r\n") if l.startswith(b"From:")).decode()
        sender = sender.split("<", 1)[1].rstrip(">")
        path = f"/beta/deviceManagement/operationApprovalRequests/{rid}"
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        conn.request("GET", path, headers=headers)
        conn.getresponse().read()
        body = json.dumps({"justification": "Not today (rejected by email)", "approvalSource": "email"})
        conn.request("POST", path + "/reject", body=body,
                     headers={**headers, "Content-Type": "application/json"})
        conn.getresponse().read()
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = user, sender, "Re: " + subject[9:]
        msg.set_content(f"The Intune request {rid} has been rejected.")
        smtp.send_message(msg)
        m.uid("MOVE", uid, "Processed")
    smtp.quit()
    m.logout()
    return len(uids)


def get_token(conn):
    form = urllib.parse.urlencode({"client_id": "bench-app", "client_secret": "bench-secret",
                                   "grant_type": "client_credentials", "scope": sim + "/.default"})
    conn.request("POST", "/bench/oauth2/v2.0/token", body=form,
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    return json.loads(conn.getresponse().read())["access_token"]


def timed(fn):
    t0 = time.monotonic()
    out = fn()
    return out, time.monotonic() - t0


bridge_ids = [str(uuid.uuid4()) for _ in range(count)]
floor_ids = [str(uuid.uuid4()) for _ in range(count)]
sim_post("/_sim/requests", [{"id": r, "status": "needsApproval"} for r in bridge_ids + floor_ids])
print(f"filling two mailboxes with {count} replies each …", flush=True)
fill(bridge, bridge_ids)
fill(floor, floor_ids)
wait_filled(bridge, count)
wait_filled(floor, count)

(handled, floor_secs) = timed(lambda: floor_drain(floor, sim))
t0 = time.monotonic()
run = subprocess.run(["/usr/bin/time", "-f", "%U user %S sys %M maxKiB", "./target/release/reject-bridge", "run", "--once", "--config", f"{work}/bridge.toml"],
                     env={"RUST_LOG": "warn", "PATH": "/usr/bin:/bin"},
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
bridge_secs = time.monotonic() - t0
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
if run.returncode != 0:
    sys.exit(f"reject-bridge run --once exited {run.returncode}:\n{run.stderr.decode()[-3000:]}")
calls = json.load(urllib.request.urlopen(sim + "/_sim/calls"))
ok = {c["id"] for c in calls if c["endpoint"] == "reject" and 200 <= c["status"] < 300}
rejected = sum(1 for r in bridge_ids if r in ok)
floor_rate, bridge_rate = handled / floor_secs, count / bridge_secs
print(f"backlog of {count} replies, release build, same machine and run:")
print(f"  protocol floor   {floor_rate:8.1f} replies/s   ({floor_secs:.1f} s)")
print(f"  reject-bridge    {bridge_rate:8.1f} replies/s   ({bridge_secs:.1f} s, {rejected} rejected)   peak RSS {peak_kib / 1024:.1f} MiB")
print("  bridge cpu:", run.stderr.decode().strip().splitlines()[-1])
print(f"  ratio            {bridge_rate / floor_rate:8.2f} x the floor")
