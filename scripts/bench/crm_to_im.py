"""CRM → IM latency benchmark driver.

Sends signed BottleCRM webhooks (lead.created, then lead.updated with a new status, for
each lead) at a fixed rate to `liaison serve`, while an HTTP sink standing in for the
Matrix homeserver records when each notice's send request arrives. Prints the last line
    crm_to_im p50_ms=X p99_ms=Y changes_per_s=Z lost=N
usage: crm_to_im.py LIAISON_PORT SINK_PORT SECRET RATE SECONDS
"""
import hashlib, hmac, http.client, json, re, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, sink_port, secret = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode()
rate, seconds = float(sys.argv[4]), float(sys.argv[5])

sent = {}        # (kind, n) -> send time
received = {}    # (kind, n) -> receive time
lock = threading.Lock()
pattern = re.compile(r"^(New lead|Lead moved): Bench (\d+)")

class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else every answer waits out a delayed ACK (40 ms)
    def _answer(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_PUT(self):
        now = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        content = json.loads(self.rfile.read(length) or b"{}")
        match = pattern.match(content.get("body", ""))
        if match:
            key = ("created" if match.group(1) == "New lead" else "updated", int(match.group(2)))
            with lock:
                received.setdefault(key, now)
        self._answer({"event_id": "$%d" % len(received)})
    def do_POST(self):  # join
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._answer({"room_id": "!bench:localhost"})
    def log_message(self, *args):
        pass

sink = ThreadingHTTPServer(("127.0.0.1", sink_port), Sink)
threading.Thread(target=sink.serve_forever, daemon=True).start()

def post(connection, event, n, status):
    body = json.dumps({"id": "%s-%d" % (event, n), "event": event, "data": {
        "id": "lead-%d" % n, "first_name": "Bench", "last_name": str(n), "status": status, "assigned_to": []}},
        separators=(",", ":")).encode()
    t = int(time.time())
    signature = hmac.new(secret, b"%d." % t + body, hashlib.sha256).hexdigest()
    connection.request("POST", "/hooks/bottlecrm", body, {
        "Content-Type": "application/json", "X-BottleCRM-Signature": "t=%d,v1=%s" % (t, signature),
        "X-BottleCRM-Delivery": "%s-%d" % (event, n)})
    response = connection.getresponse()
    response.read()
    return response.status

# Each lead: created, then (half a second later) moved. Every webhook is one change.
connection = http.client.HTTPConnection("127.0.0.1", port)
interval = 1.0 / rate
start = time.monotonic()
total = int(rate * seconds)
pending_updates = []
n = 0
for i in range(total):
    target = start + i * interval
    delay = target - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    if pending_updates and pending_updates[0][0] <= time.monotonic():
        _, m = pending_updates.pop(0)
        kind, event, number, status = "updated", "lead.updated", m, "in process"
    else:
        n += 1
        kind, event, number, status = "created", "lead.created", n, "assigned"
        pending_updates.append((time.monotonic() + 0.5, n))
    sent_at = time.monotonic()
    if post(connection, event, number, status) == 200:
        with lock:
            sent[(kind, number)] = sent_at
elapsed = time.monotonic() - start

deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    with lock:
        if all(key in received for key in sent):
            break
    time.sleep(0.1)
with lock:
    latencies = sorted((received[key] - sent[key]) * 1000 for key in sent if key in received)
    lost = sum(1 for key in sent if key not in received)
sink.shutdown()
if not latencies:
    sys.exit("no notice arrived")
def percentile(p):
    return latencies[min(len(latencies) - 1, int(len(latencies) * p))]
print("sent=%d received=%d elapsed=%.1fs" % (len(sent), len(latencies), elapsed), file=sys.stderr)
print("crm_to_im p50_ms=%.1f p99_ms=%.1f changes_per_s=%.0f lost=%d" % (percentile(0.5), percentile(0.99), len(sent) / elapsed, lost))
