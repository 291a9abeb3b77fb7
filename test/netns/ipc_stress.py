#!/usr/bin/env python3
"""IPC stress for ipc_line.sh: the raw get=nylon answer, 1,000 malformed requests, 1,000 status requests 20 at a
time. Exits non-zero (with a message) on the first wrong answer. Every socket operation has a timeout."""
import json
import os
import random
import socket
import sys
from concurrent.futures import ThreadPoolExecutor

PATH = sys.argv[1]
TIMEOUT = 15


def talk(data, read_until_close=False, expect_line=True):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect(PATH)
    try:
        s.sendall(data)
        if not expect_line:
            s.shutdown(socket.SHUT_WR)
        buf = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                break
            if not chunk:
                break
            buf += chunk
            if expect_line and not read_until_close and b"\n" in buf:
                break
        return buf
    finally:
        s.close()


def raw_answer():
    out = talk(b'get=nylon\n{"status":{}}\n')
    line = out.split(b"\n")[0]
    r = json.loads(line)
    assert r["ok"] is True and r["error"] == "", r
    assert b"errno=" not in out, out[-200:]
    for req, want in ((b"{}", "unknown method"), (b"", "unknown method"), (b'{"nope":{}}', "unknown field")):
        r = json.loads(talk(b"get=nylon\n" + req + b"\n").split(b"\n")[0])
        assert r["ok"] is False and want in r["error"], (req, r)
    r = json.loads(talk(b'get=nylon\n{"status":\n').split(b"\n")[0])
    assert r["ok"] is False and r["error"], r


def malformed(i):
    rnd = random.Random(i)
    kinds = [
        lambda: b"get=nylon\n" + bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 200))) + b"\n",
        lambda: b"get=nylon\n{" * rnd.randrange(1, 50) + b"\n",
        lambda: b"get=nylon\n" + b"[" * 5000 + b"\n",
        lambda: b"get=nylon\n" + b"x" * 70000 + b"\n",
        lambda: b'get=nylon\n{"probe":{"peerId":5}}\n',
        lambda: b'get=nylon\n{"probe":{"timeoutMs":"-1"}}\n',
        lambda: b'get=nylon\n{"status":{},"reload":{}}\n',
        lambda: b"set=1\nlisten_port=abc\n\n",
        lambda: b"set=1\npublic_key=" + b"z" * 64 + b"\n\n",
        lambda: b"set=1\n" + b"k" * 300 + b"\n\n",
        lambda: b"get=2\n\n",
        lambda: b"get=1\nextra\n\n",
        lambda: bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 500))),
        lambda: b"\x00\x00\x00get=nylon\n\x00\n",
        lambda: b"get=nylon\n",  # then close: no request line
    ]
    data = kinds[i % len(kinds)]()
    try:
        talk(data, expect_line=False)
    except (socket.timeout, ConnectionResetError, BrokenPipeError) as e:
        raise AssertionError("malformed request %d (%r...): %s" % (i, data[:40], e))


def status(i):
    out = talk(b'get=nylon\n{"status":{}}\n')
    r = json.loads(out.split(b"\n")[0])
    assert r["ok"] is True, r
    return len(r["status"]["neighbours"])


def main():
    raw_answer()
    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(malformed, range(1000)))
        counts = set(pool.map(status, range(1000)))
    assert counts == {2}, counts
    print("ipc_stress: raw answer, 1000 malformed, 1000 status: ok")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("ipc_stress: %s" % e, file=sys.stderr)
        sys.exit(1)
