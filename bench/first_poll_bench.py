#!/usr/bin/env python3
"""The first ten minutes, measured: how long `feedmerge run` takes from its start to
  (a) a complete merged feed on config/demo.toml (every sample polled, every item in a story,
      /feed.xml listing every story), and
  (b) every feed polled once on N loopback feeds served by scripts/gen-corpus (default 200),
      and the first round's closing summary line.
Wall-clock figures for the closing note and bench/README.md, never a test assertion.

  bench/first_poll_bench.py [--feedmerge build/feedmerge] [--feeds 200]
"""
import argparse
import os
import pathlib
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def count(db, sql):
    try:
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return c.execute(sql).fetchone()[0]
        finally:
            c.close()
    except sqlite3.Error:
        return None


def demo(binary, work):
    """(a): a copy of config/demo.toml with its own database and port."""
    folder = work / "demo"
    shutil.copytree(ROOT / "config", folder)
    port = free_port()
    text = (folder / "demo.toml").read_text()
    text = re.sub(r'(?m)^listen = .*$', f'listen = "127.0.0.1:{port}"', text)
    text = re.sub(r'(?m)^database = .*$', 'database = "demo-bench.db"', text)
    (folder / "demo.toml").write_text(text)
    feeds = text.count("[[feed]]")
    db = folder / "demo-bench.db"
    start = time.monotonic()
    daemon = subprocess.Popen([binary, "run", "--config", str(folder / "demo.toml")], cwd=folder,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.monotonic() - start < 60:
            polled = count(db, "select count(*) from feeds where last_success is not null")
            items = count(db, "select count(*) from items")
            members = count(db, "select count(*) from item_stories")
            stories = count(db, "select count(distinct story_id) from item_stories")
            if polled == feeds and items and members == items:
                try:
                    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/feed.xml", timeout=5).read()
                except OSError:
                    body = b""
                if body.count(b"<item>") == stories:
                    return time.monotonic() - start, feeds, items, stories
            time.sleep(0.02)
        return None
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)


def loopback(binary, work, n):
    """(b): n feeds from scripts/gen-corpus, served on 127.0.0.1 with ETag/304."""
    corpus = work / "corpus"
    subprocess.run([sys.executable, str(ROOT / "scripts/gen-corpus"), "--feeds", str(n), "--out",
                    str(corpus), "--seed", "1"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    port_file = work / "corpus.port"
    server = subprocess.Popen([sys.executable, str(ROOT / "scripts/gen-corpus"), "--serve", "0",
                               "--port-file", str(port_file), "--out", str(corpus)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline:
                sys.exit("gen-corpus --serve did not start")
            time.sleep(0.05)
        served = int(port_file.read_text())
        urls = urllib.request.urlopen(f"http://127.0.0.1:{served}/_urls.txt").read().decode().split()
        lines = ["[server]", f'listen = "127.0.0.1:{free_port()}"', "[storage]",
                 f'database = "{work / "loopback.db"}"', ""]
        for url in urls:
            lines += ["[[feed]]", f'url = "{url}"', ""]
        config = work / "loopback.toml"
        config.write_text("\n".join(lines))
        log = work / "loopback.log"
        start = time.monotonic()
        polled_after = summary_after = None
        with open(log, "wb") as out:
            daemon = subprocess.Popen([binary, "run", "--config", str(config)], stdout=out,
                                      stderr=subprocess.STDOUT)
            try:
                while time.monotonic() - start < 300 and summary_after is None:
                    if polled_after is None and count(
                            work / "loopback.db",
                            "select count(*) from feeds where last_attempt is not null") == len(urls):
                        polled_after = time.monotonic() - start
                    if polled_after is not None and b"first poll done" in log.read_bytes():
                        summary_after = time.monotonic() - start
                    time.sleep(0.02)
            finally:
                daemon.terminate()
                daemon.wait(timeout=30)
        summary = [l for l in log.read_text().splitlines() if "first poll done" in l]
        return polled_after, summary_after, len(urls), summary[0] if summary else ""
    finally:
        server.terminate()
        server.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feedmerge", default=str(ROOT / "build/feedmerge"))
    parser.add_argument("--feeds", type=int, default=200)
    args = parser.parse_args()
    binary = str(pathlib.Path(args.feedmerge).resolve())
    with tempfile.TemporaryDirectory(prefix="feedmerge-first-poll-") as tmp:
        work = pathlib.Path(tmp)
        a = demo(binary, work)
        if a is None:
            print("demo: the merged feed was not complete within 60 s")
        else:
            print(f"demo: complete merged feed {a[0]:.2f} s after start "
                  f"({a[1]} feeds, {a[2]} items, {a[3]} stories)")
        polled, summary, n, line = loopback(binary, work, args.feeds)
        print(f"loopback: all {n} feeds polled {polled:.2f} s after start; "
              f"first-round summary at {summary:.2f} s" if polled and summary
              else f"loopback: not every feed was polled within 300 s ({polled}, {summary})")
        if line:
            print("  " + line.split("] ", 2)[-1])


if __name__ == "__main__":
    main()
