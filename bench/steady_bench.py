#!/usr/bin/env python3
"""The steady state at N feeds: what `feedmerge run` costs once every feed has been polled.

N loopback RSS feeds (20 items each) served by Debian's nginx from a temporary folder, spread
over 200 host names (the loopback addresses 127.0.1.1 ... 127.0.1.200, one nginx listening on
each: nothing in /etc/hosts, nothing system-wide), a fixed 5-minute interval, 0.5 % of the
feeds gaining an item every minute (the file rewritten on disk; nginx answers the others 304).
After the first round ("first poll done" in the log, then every item in a story), a window of
--window seconds (default 300: one interval, every feed polled once) measures
CPU seconds per poll (utime+stime of the process over feedmerge_polls_total from /metrics),
polls per second and resident memory (VmRSS; VmHWM, the peak since the start). Figures for
bench/README.md and docs/scaling.md, never a test assertion.

  bench/steady_bench.py --feeds 10000 [--window 300] [--feedmerge build/feedmerge] [--keep]

nginx: the one on PATH, else Debian's package fetched with `apt-get download` and unpacked
into ~/.cache/feedmerge-bench/nginx (dpkg -x: no root, no service started).
"""
import argparse
import glob
import os
import pathlib
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

ROOT = pathlib.Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")
# A vocabulary of 3,000 made-up words: titles of seven of them are distinct unless meant to be.
_SYLLABLES = ("ka ri to mu se la no vi de pa go ze lu fi ra mo ti be su ne ko da li ve "
              "po sa gu ni ha").split()
_PICK = random.Random(7)
WORDS = sorted({"".join(_PICK.choice(_SYLLABLES) for _ in range(2 + i % 3)) for i in range(5000)})
WORDS = WORDS[:3000]
EVENTS_PER_SLOT = 40  # stories several feeds report in the same half hour
SHARED = 0.1          # share of the items that report one of those


def find_nginx():
    found = shutil.which("nginx") or (os.path.exists("/usr/sbin/nginx") and "/usr/sbin/nginx")
    if found:
        return found
    cache = pathlib.Path.home() / ".cache/feedmerge-bench/nginx"
    binary = cache / "root/usr/sbin/nginx"
    if not binary.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(["apt-get", "download", "nginx"], cwd=cache, check=True,
                       stdout=subprocess.DEVNULL)
        deb = sorted(glob.glob(str(cache / "nginx_*.deb")))[-1]
        subprocess.run(["dpkg", "-x", deb, str(cache / "root")], check=True)
    return str(binary)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Corpus:
    """N feeds of `items` items each, as files under docroot/h<host>/f<n>.xml."""

    def __init__(self, docroot, feeds, hosts, items, seed=1):
        self.docroot, self.feeds, self.hosts, self.items = docroot, feeds, hosts, items
        self.random = random.Random(seed)
        self.serial = [0] * feeds
        self.start = datetime.now(timezone.utc).replace(microsecond=0)
        self.added = {}

    def host(self, n):
        return f"127.0.1.{n % self.hosts + 1}"

    def path(self, n):
        return self.docroot / f"h{n % self.hosts}" / f"f{n}.xml"

    def url(self, n, port):
        return f"http://{self.host(n)}:{port}/h{n % self.hosts}/f{n}.xml"

    def item(self, n, k):
        r = random.Random(n * 1_000_003 + k)
        # The first ones half an hour apart up to the start: all inside the dedup window (72 h).
        # Items added later carry the time they were added. A rewritten file keeps the others
        # as they were: their content hash does not change.
        # Each feed's half hours start at its own second, as real feeds do not all publish at once.
        date = self.added.get((n, k)) or self.start - timedelta(
            minutes=30 * (self.items - k), seconds=n * 7919 % 1800)
        # Each item names two people or places and a number, as news does: the assigner needs
        # shared names to call two items one story.
        if r.random() < SHARED:
            # The same event in several feeds: the same slot (its half hour) and event number
            # give the same names and words, in another order: another outlet's wording.
            slot = int(date.timestamp()) // 1800
            source = random.Random(slot * 1000 + r.randrange(EVENTS_PER_SLOT))
        else:
            source = r
        # Names from 810,000 (four syllables): two items share one by chance hardly ever.
        names = ["".join(source.choice(_SYLLABLES) for _ in range(4)).capitalize()
                 for _ in range(2)]
        number = str(source.randrange(10, 10000))
        words = [source.choice(WORDS) for _ in range(6)]
        text = [source.choice(WORDS) for _ in range(40)]
        if source is not r:
            r.shuffle(words)
            r.shuffle(text)
        title = f"{names[0]} {' '.join(words[:3])} {names[1]} {' '.join(words[3:])} {number}"
        text = f"{names[1]} and {names[0]}: " + " ".join(text) + f" ({number})"
        link = f"http://{self.host(n)}/story/{n}/{k}"
        return (f"<item><title>{title}</title><link>{link}</link>"
                f"<guid isPermaLink=\"false\">{n}-{k}</guid>"
                f"<pubDate>{format_datetime(date, usegmt=True)}</pubDate>"
                f"<description>{text}</description></item>\n")

    def write(self, n):
        top = self.serial[n] + self.items
        body = "".join(self.item(n, k) for k in range(top, top - self.items, -1))
        text = (f"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>"
                f"<title>Feed {n}</title><link>http://{self.host(n)}/</link>"
                f"<description>bench</description>\n{body}</channel></rss>\n")
        path = self.path(n)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(text)
        os.replace(temporary, path)  # nginx serves the old file or the new one

    def write_all(self):
        for h in range(self.hosts):
            (self.docroot / f"h{h}").mkdir(parents=True, exist_ok=True)
        for n in range(self.feeds):
            self.write(n)

    def grow(self, count):
        """`count` feeds gain one item (their oldest drops out)."""
        now = datetime.now(timezone.utc).replace(microsecond=0)
        for n in self.random.sample(range(self.feeds), count):
            self.serial[n] += 1
            self.added[(n, self.serial[n] + self.items)] = now
            self.write(n)


def start_nginx(nginx, work, docroot, hosts):
    for attempt in range(20):
        port = random.randint(20000, 60000)
        listens = "\n".join(f"    listen 127.0.1.{h + 1}:{port};" for h in range(hosts))
        conf = work / "nginx.conf"
        conf.write_text(f"""worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {work}/nginx-tmp;
  proxy_temp_path {work}/nginx-tmp;
  fastcgi_temp_path {work}/nginx-tmp;
  uwsgi_temp_path {work}/nginx-tmp;
  scgi_temp_path {work}/nginx-tmp;
  types {{ application/rss+xml xml; }}
  keepalive_requests 100000;
  server {{
{listens}
    root {docroot};
  }}
}}
""")
        (work / "nginx-tmp").mkdir(exist_ok=True)
        server = subprocess.Popen([nginx, "-p", str(work), "-c", str(conf), "-e",
                                   str(work / "nginx-error.log")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and server.poll() is None:
            try:
                urllib.request.urlopen(f"http://127.0.1.{hosts}:{port}/h{hosts - 1}/", timeout=2)
            except urllib.error.HTTPError:
                return server, port  # 403/404 on the folder: listening
            except OSError:
                time.sleep(0.05)
                continue
            return server, port
        server.kill()
        server.wait()
    sys.exit("nginx did not start: " + (work / "nginx-error.log").read_text()[-2000:])


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def memory_kb(pid):
    status = open(f"/proc/{pid}/status").read()
    get = lambda key: int(re.search(rf"^{key}:\s+(\d+) kB", status, re.M).group(1))
    return get("VmRSS"), get("VmHWM")


def metrics(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read().decode()
    polls = sum(float(m) for m in re.findall(r"^feedmerge_polls_total\{[^}]*\} (\S+)$", text, re.M))
    items = re.search(r"^feedmerge_items (\S+)$", text, re.M)
    stories = re.search(r"^feedmerge_stories (\S+)$", text, re.M)
    return polls, int(float(items.group(1))) if items else 0, \
        int(float(stories.group(1))) if stories else 0


def main():
    # A plain `kill` ends the run as Ctrl-C does: nginx and feedmerge stopped, the folder removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(1))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feedmerge", default=str(ROOT / "build/feedmerge"))
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--interval", default="5m")
    parser.add_argument("--growth", type=float, default=0.005,
                        help="share of the feeds that gain an item each minute")
    parser.add_argument("--window", type=float, default=300,
                        help="seconds measured after the first round (one 5m interval: every "
                        "feed polled once)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    binary = str(pathlib.Path(args.feedmerge).resolve())
    nginx = find_nginx()
    work = pathlib.Path(tempfile.mkdtemp(prefix="feedmerge-steady-"))
    os.chmod(work, 0o755)  # nginx's worker may run as nobody
    docroot = work / "feeds"
    corpus = Corpus(docroot, args.feeds, args.hosts, args.items)
    started = time.monotonic()
    corpus.write_all()
    print(f"corpus: {args.feeds} feeds x {args.items} items written in "
          f"{time.monotonic() - started:.1f} s", flush=True)
    server, port = start_nginx(nginx, work, docroot, args.hosts)
    daemon = None
    stop = threading.Event()
    try:
        listen = free_port()
        lines = ["[server]", f'listen = "127.0.0.1:{listen}"', "[storage]",
                 f'database = "{work / "steady.db"}"', "[poll]",
                 f'interval = "{args.interval}"', f'min_interval = "{args.interval}"',
                 f'max_interval = "{args.interval}"', ""]
        for n in range(args.feeds):
            lines += ["[[feed]]", f'url = "{corpus.url(n, port)}"', ""]
        config = work / "steady.toml"
        config.write_text("\n".join(lines))
        log_path = work / "run.log"
        log = open(log_path, "wb")
        started = time.monotonic()
        daemon = subprocess.Popen([binary, "run", "--config", str(config)], stdout=log,
                                  stderr=subprocess.STDOUT)
        deadline = started + 600 + args.feeds / 10
        while b"first poll done" not in log_path.read_bytes():
            if daemon.poll() is not None or time.monotonic() > deadline:
                sys.exit("no first round: " + log_path.read_text()[-3000:])
            time.sleep(0.5)
        # The story assigner may still be working through the first round's items: the
        # steady state starts once every item is in a story.
        db = work / "steady.db"
        while True:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                items, assigned = conn.execute(
                    "select (select count(*) from items), (select count(*) from item_stories)"
                ).fetchone()
            if items == assigned or time.monotonic() > deadline or daemon.poll() is not None:
                break
            time.sleep(1)
        first_wall = time.monotonic() - started
        first_cpu = cpu_seconds(daemon.pid)
        first_rss, _ = memory_kb(daemon.pid)
        summary = [l for l in log_path.read_text().splitlines() if "first poll done" in l][0]
        print("first round: " + summary.split("] ", 2)[-1], flush=True)
        print(f"every item in a story {first_wall:.1f} s after the start", flush=True)

        # The feeds that gain an item, once a minute from now on.
        per_minute = max(1, round(args.feeds * args.growth))

        def grow():
            while not stop.wait(60):
                corpus.grow(per_minute)

        threading.Thread(target=grow, daemon=True).start()
        polls0, _, _ = metrics(listen)
        cpu0, t0 = cpu_seconds(daemon.pid), time.monotonic()
        while time.monotonic() - t0 < args.window:
            if daemon.poll() is not None:
                sys.exit("feedmerge stopped: " + log_path.read_text()[-3000:])
            time.sleep(1)
        polls1, items, stories = metrics(listen)
        cpu1, t1 = cpu_seconds(daemon.pid), time.monotonic()
        rss, hwm = memory_kb(daemon.pid)
        polls, seconds, cpu = polls1 - polls0, t1 - t0, cpu1 - cpu0
        print()
        print(f"{'feeds':>7} {'in stories':>12} {'1st CPU s':>9} {'1st RSS MB':>10} "
              f"{'window s':>8} {'polls':>7} {'polls/s':>7} {'CPU ms/poll':>11} "
              f"{'core %':>6} {'RSS MB':>7} {'HWM MB':>7} {'items':>8} {'stories':>8}")
        print(f"{args.feeds:>7} {first_wall:>10.1f} s {first_cpu:>9.1f} {first_rss / 1024:>10.0f} "
              f"{seconds:>8.0f} {polls:>7.0f} {polls / seconds:>7.2f} "
              f"{(1000 * cpu / polls if polls else float('nan')):>11.3f} "
              f"{100 * cpu / seconds:>6.1f} {rss / 1024:>7.0f} {hwm / 1024:>7.0f} "
              f"{items:>8} {stories:>8}")
        print(f"(+{per_minute} feeds gaining an item per minute; interval {args.interval}; "
              f"{args.hosts} hosts; {os.cpu_count()} cores, shared)")
    finally:
        stop.set()
        if daemon and daemon.poll() is None:
            daemon.terminate()
            daemon.wait(timeout=120)
        server.terminate()
        server.wait(timeout=30)
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
