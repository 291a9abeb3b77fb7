#!/usr/bin/env python3
"""The target of health_http.sh's checks: GET /health answers with the status written in STATUS_FILE (200 when the
file is missing or unreadable), with a short body; any other path is 404.

Usage: health_server.py ADDRESS PORT STATUS_FILE

The status is read on every request, so a test fails and restores the check by writing 503 / 200 to the file while
the server keeps running; stopping the server (SIGTERM) makes the check fail with a refused connection instead.
"""
import datetime
import http.server
import signal
import sys


def status(path):
    try:
        with open(path) as f:
            return int(f.read().strip() or 200)
    except (OSError, ValueError):
        return 200


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = status(self.server.status_file) if self.path == "/health" else 404
        body = b"ok\n" if code == 200 else b"unhealthy\n"
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


def main():
    addr, port, status_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    # SIGTERM ends serve_forever's loop through an exception, so the process exits 0 (a clean stop) rather than by
    # the signal, and the listening socket is closed before exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with http.server.ThreadingHTTPServer((addr, port), Handler) as server:
        server.status_file = status_file
        server.daemon_threads = True
        # Listening since the constructor returned: the test times r1's recovery from this line's timestamp.
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        print(f"health_server: serving http://{addr}:{port}/health since {now}", flush=True)
        server.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    main()
