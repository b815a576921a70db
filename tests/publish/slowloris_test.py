#!/usr/bin/env python3
"""Serving under abuse, through the real binary: 2,000 slow-loris connections that never finish
their headers, then a normal client. The normal request must be answered while slow connections
are still open (asserted by order: the answer arrives before the test closes them), and the
server must still answer once they are gone. Prints the figures: slow connections opened, how
many the server had closed to make room when the normal answer arrived, and the normal
request's latency. Usage: slowloris_test.py --feedmerge BIN [--slow 2000]"""
import argparse
import os
import resource
import select
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "service"))
import harness  # noqa: E402


def get(port, path, timeout=30):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


def try_get(port, path):
    try:
        return get(port, path, timeout=5)
    except OSError:
        return b""


def closed_by_server(sockets):
    """How many of `sockets` the server has turned away: readable with EOF, a reset or an answer
    (a slow client never finishes a request: anything it receives is the 503 that evicts it)."""
    poller = select.poll()
    by_fd = {s.fileno(): s for s in sockets}
    for fd in by_fd:
        poller.register(fd, select.POLLIN)
    closed = 0
    for fd, _ in poller.poll(0):
        try:
            by_fd[fd].recv(1, socket.MSG_DONTWAIT)
            closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    return closed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--feedmerge", required=True)
    ap.add_argument("--slow", type=int, default=2000)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.slow + 256
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    failures = []
    with tempfile.TemporaryDirectory() as folder:
        feed = os.path.join(folder, "feed.xml")
        with open(feed, "w") as f:
            f.write('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
                    '<item><title>One</title><link>https://example.org/1</link></item>'
                    '</channel></rss>')
        port = harness.free_port()
        config = harness.write_config(
            folder, ["file://" + feed], interval="1h",
            extra=f'[server]\nlisten = "127.0.0.1:{port}"\n\n'
                  '[[output]]\npath = "/feed.xml"\nformat = "rss"\n')
        daemon = harness.start_daemon(os.path.abspath(args.feedmerge), config, folder)
        slow = []
        try:
            ready = harness.wait_until(lambda: try_get(port, "/feed.xml").startswith(b"HTTP/1.1 200")
                                       if daemon.poll() is None else True)
            if not ready or daemon.poll() is not None:
                print("FAIL the daemon did not start serving")
                return 1
            for _ in range(args.slow):
                s = socket.create_connection(("127.0.0.1", port), timeout=30)
                s.sendall(b"GET /feed.xml HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                slow.append(s)
            started = time.monotonic()
            answer = get(port, "/feed.xml")
            latency = time.monotonic() - started
            evicted = closed_by_server(slow)
            still_open = len(slow) - evicted
            print(f"slow-loris: {len(slow)} slow connections opened; the normal request was "
                  f"answered in {latency * 1000:.0f} ms with {still_open} of them still open "
                  f"({evicted} closed by the server to make room)")
            if not answer.startswith(b"HTTP/1.1 200"):
                failures.append(f"the normal client got {answer[:40]!r}")
            if still_open == 0:
                failures.append("no slow connection was open any more: the order proves nothing")
            for s in slow:
                s.close()
            slow = []
            again = harness.wait_until(lambda: try_get(port, "/feed.xml").startswith(b"HTTP/1.1 200"))
            if not again:
                failures.append("not served again once the slow clients left")
            if daemon.poll() is not None:
                failures.append(f"the daemon exited with {daemon.returncode}")
        finally:
            for s in slow:
                s.close()
            if daemon.poll() is None:
                daemon.terminate()
                daemon.wait(timeout=60)
    for failure in failures:
        print("FAIL", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
