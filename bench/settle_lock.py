#!/usr/bin/python3
"""How long a settling SQLite `run` keeps other writers (`story merge|split`) waiting.

  /usr/bin/python3 bench/settle_lock.py [--feedmerge build/feedmerge] [--feeds 1000]
                                        [--corpus /tmp/feedmerge-poll-bench-corpus] [--restart]

Runs `feedmerge run` on the first half of a gen-corpus folder's feeds (file:// URLs, a SQLite
file in a temporary folder, lease 3 s), reloads it (SIGHUP) with all of them once its first
poll is done, and waits for the settle that follows ("stories: settled"). Meanwhile a probe,
another process, takes and releases the database's write lock (BEGIN IMMEDIATE) every 100 ms.
Prints the settle's log line and the probe's longest waits inside the settle and outside it
(the reload's batch decides inside its transaction, so that is where other writers wait).
--restart: stops the daemon after its first poll and starts it again with ten more feeds
instead, and measures its first batch (which builds the index from the store, then places
the new items) in place of a settle.
The corpus is bench/poll_bench.sh's (`scripts/gen-corpus --feeds 1000 --seed 1 --out DIR`).
"""
import argparse
import datetime
import pathlib
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--feedmerge", default="build/feedmerge")
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--corpus", default="/tmp/feedmerge-poll-bench-corpus")
    parser.add_argument("--restart", action="store_true")
    args = parser.parse_args()
    corpus = pathlib.Path(args.corpus)
    manifest = corpus / "MANIFEST.tsv"
    if not manifest.exists():
        sys.exit(f"{manifest}: missing; run scripts/gen-corpus --feeds {args.feeds} --seed 1 "
                 f"--out {corpus}")
    names = [line.split("\t")[0] for line in manifest.read_text().splitlines()[1:]][:args.feeds]
    with tempfile.TemporaryDirectory(prefix="feedmerge-settle-lock-") as tmp:
        tmp = pathlib.Path(tmp)
        database = tmp / "stories.db"
        config = tmp / "feedmerge.toml"

        def write_config(count):
            lines = ["[server]", 'listen = ""', "[storage]", f'database = "{database}"',
                     'lease = "3s"', "[log]", 'level = "debug"', ""]
            for name in names[:count]:
                lines += ["[[feed]]", f'url = "{(corpus / name).resolve().as_uri()}"', ""]
            config.write_text("\n".join(lines))

        write_config(len(names) // 2)
        log_path = tmp / "run.log"

        def start():
            with open(log_path, "w") as log:
                return subprocess.Popen([args.feedmerge, "run", "--config", str(config)],
                                        stdout=log, stderr=subprocess.STDOUT)

        daemon = start()

        def wait_for(pattern, timeout=600):
            end = time.time() + timeout
            while time.time() < end:
                found = re.search(pattern, log_path.read_text(), re.M)
                if found:
                    return found
                if daemon.poll() is not None:
                    sys.exit(f"feedmerge run exited:\n{log_path.read_text()[-2000:]}")
                time.sleep(0.2)
            daemon.kill()
            sys.exit(f"no '{pattern}' in {timeout} s:\n{log_path.read_text()[-2000:]}")

        try:
            wait_for(r"first poll done")
            waits = []
            stop = threading.Event()

            def probe():
                db = sqlite3.connect(database, timeout=60, isolation_level=None)
                while not stop.is_set():
                    started = time.time()
                    db.execute("BEGIN IMMEDIATE")
                    waits.append((started, time.time() - started))
                    db.execute("ROLLBACK")
                    stop.wait(0.1)

            if args.restart:
                daemon.send_signal(signal.SIGTERM)
                daemon.wait(timeout=60)
            thread = threading.Thread(target=probe)
            thread.start()
            write_config(len(names) // 2 + 10 if args.restart else len(names))
            if args.restart:
                daemon = start()
                settled = wait_for(r"^\[([0-9-]+ [0-9:.]+)\] .*stories: [0-9]+ .*assigned in "
                                   r"([0-9]+) ms.*$")
            else:
                daemon.send_signal(signal.SIGHUP)
                settled = wait_for(r"^\[([0-9-]+ [0-9:.]+)\] .*stories: settled.* in ([0-9]+) "
                                   r"ms.*$")
            time.sleep(1)
            stop.set()
            thread.join()
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=60)
    # The log's times are local; the settle ran for its reported time before its line.
    end = datetime.datetime.strptime(settled.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
    start = end - int(settled.group(2)) / 1000
    inside = [w for t, w in waits if start <= t + w and t <= end]
    outside = [w for t, w in waits if not (start <= t + w and t <= end)]
    print(settled.group(0).split("] ", 2)[-1])
    what = "batch" if args.restart else "settle"
    print(f"probe: {len(waits)} write locks taken; longest wait during the {what} "
          f"{1000 * max(inside, default=0):.1f} ms ({len(inside)} probes), outside it "
          f"{1000 * max(outside, default=0):.1f} ms")


if __name__ == "__main__":
    main()
