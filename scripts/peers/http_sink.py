#!/usr/bin/env python3
"""Minimal HTTP sink: records every request as one JSON line and answers with a fixed response.

usage: http_sink.py PORT [OUTFILE|-] [--status 200] [--body '{}'] [--delay-ms 0] [--host 127.0.0.1]

Each line: {"ts": <unix float>, "method", "path", "headers": {..}, "body": "<utf-8 text>"}.
Stand-in for an IM server / webhook receiver in tests and benchmarks. Threaded; stops on SIGTERM/SIGINT.
"""
import argparse, json, signal, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("outfile", nargs="?", default="-")
ap.add_argument("--status", type=int, default=200)
ap.add_argument("--body", default="{}")
ap.add_argument("--delay-ms", type=int, default=0)
ap.add_argument("--host", default="127.0.0.1")
args = ap.parse_args()

out = sys.stdout if args.outfile == "-" else open(args.outfile, "a", encoding="utf-8")
lock = threading.Lock()
reply = args.body.encode()


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

    def handle_one(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        rec = {"ts": time.time(), "method": self.command, "path": self.path,
               "headers": dict(self.headers), "body": body.decode("utf-8", "replace")}
        with lock:
            out.write(json.dumps(rec) + "\n")
            out.flush()
        if args.delay_ms:
            time.sleep(args.delay_ms / 1000)
        self.send_response(args.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_one

    def log_message(self, *a):  # silence the default stderr access log
        pass


srv = ThreadingHTTPServer((args.host, args.port), Sink)
srv.daemon_threads = True
signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=srv.shutdown).start())
try:
    srv.serve_forever()
except KeyboardInterrupt:
    pass
