"""The measuring half of scripts/bench-backlog.sh (see there): fills two mailboxes with the same
backlog, drains one with `reject-bridge run --once` and the other with the protocol floor, and
prints the figures. Standard library only."""

import http.client
import imaplib
import json
import os
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


stamp = f"{os.getpid()}-{int(time.time())}"


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

def status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def workers(pid):
    """The reading workers of `pid` (children of any of its threads, once they run the worker:
    right after fork a child still shares the service's memory)."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                kids = [int(c) for c in f.read().split()]
        except OSError:
            continue
        for kid in kids:
            try:
                with open(f"/proc/{kid}/cmdline", "rb") as f:
                    if b"read-worker" in f.read():
                        found.append(kid)
            except OSError:
                pass
    return found


def run_once(config):
    """`reject-bridge run --once`: seconds, CPU seconds (with its reading workers), the bridge's own
    peak RSS (VmHWM, read until it exits) and its reading workers' largest, in KiB."""
    t0 = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(["./target/release/reject-bridge", "run", "--once", "--config", config],
                            env={"RUST_LOG": "warn", "PATH": "/usr/bin:/bin"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = worker_peak = 0
    while proc.poll() is None:
        peak = max(peak, status_kib(proc.pid, "VmHWM"))
        for child in workers(proc.pid):
            worker_peak = max(worker_peak, status_kib(child, "VmHWM"))
        time.sleep(0.005)
    secs = time.monotonic() - t0
    err = proc.stderr.read()
    if proc.returncode != 0:
        sys.exit(f"reject-bridge run --once exited {proc.returncode}:\n{err.decode()[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return secs, cpu, peak, worker_peak


def write_config(src, dst, mailbox):
    with open(src) as f:
        text = f.read()
    with open(dst, "w") as f:
        f.write(text.replace(bridge, mailbox).replace('path = "state.db"', f'path = "{mailbox}.db"'))


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


(handled, floor_secs) = timed(lambda: floor_drain(floor, sim))
bridge_secs, bridge_cpu, peak_kib, worker_kib = run_once(f"{work}/bridge.toml")
calls = json.load(urllib.request.urlopen(sim + "/_sim/calls"))
ok = {c["id"] for c in calls if c["endpoint"] == "reject" and 200 <= c["status"] < 300}
rejected = sum(1 for r in bridge_ids if r in ok)
floor_rate, bridge_rate = handled / floor_secs, count / bridge_secs
print(f"backlog of {count} replies, release build, same machine and run:")
print(f"  protocol floor   {floor_rate:8.1f} replies/s   ({floor_secs:.1f} s)")
print(f"  reject-bridge    {bridge_rate:8.1f} replies/s   ({bridge_secs:.1f} s, {rejected} rejected, "
      f"{bridge_cpu * 1000 / count:.1f} ms CPU per reply with its reading workers)")
print(f"  ratio            {bridge_rate / floor_rate:8.2f} x the floor")
print(f"  peak RSS         {mib(peak_kib)} (the service), {mib(worker_kib)} (its largest reading worker)")

# A 25 MB attachment waiting: the same small backlog twice, once with one reply that carries it.
small = 20
plain_box = f"attach-plain-{stamp}@example.test"
big_box = f"attach-big-{stamp}@example.test"
ids_plain = [str(uuid.uuid4()) for _ in range(small)]
ids_big = [str(uuid.uuid4()) for _ in range(small + 1)]
sim_post("/_sim/requests", [{"id": r, "status": "needsApproval"} for r in ids_plain + ids_big])
fill(plain_box, ids_plain)
fill(big_box, ids_big[:small])
wait_filled(plain_box, small)
wait_filled(big_box, small)
blob = (b"A" * 76 + b"\r\n") * (25 * 1024 * 1024 // 78)
attached = (f"{AUTH}\r\nFrom: <backlog-approver-big@example.test>\r\nTo: <{big_box}>\r\n"
            f"Subject: RE: Approval needed ({ids_big[-1]})\r\nMessage-ID: <big-{ids_big[-1]}@example.test>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
            f"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nNot today, see the attached log.\r\n"
            f"--b\r\nContent-Type: application/octet-stream; name=log.bin\r\n"
            f"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=log.bin\r\n\r\n"
            ).encode() + blob + b"--b--\r\n"
m = imap(big_box)
m.append("INBOX", None, None, attached)
m.logout()
for box in (plain_box, big_box):
    write_config(f"{work}/bridge.toml", f"{work}/{box}.toml", box)
_, _, plain_kib, _ = run_once(f"{work}/{plain_box}.toml")
_, _, big_kib, big_worker = run_once(f"{work}/{big_box}.toml")
print(f"  25 MB attachment {mib(plain_kib)} without it, {mib(big_kib)} with it waiting: "
      f"{(big_kib - plain_kib) / 1024:+.1f} MiB ({len(attached) / 1e6:.0f} MB message; largest reading worker {mib(big_worker)})")
