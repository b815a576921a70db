#!/usr/bin/env python3
"""What the PostgreSQL story assigner costs per batch, with N feeds' items in the window.

N synthetic feeds (bench/steady_bench.py's corpus: 20 items each, as files) go into SQLite
with `once --all`, then into a fresh PostgreSQL database with `migrate-store`. One `run` on
that database becomes the story assigner; one more feed (file://, polled every 10 s) then gains
--items items every --every seconds, --rounds times. From the run's debug log:
- the first batch of the term: the index built from the store (two windows) and every pair
  scored, which is what every batch cost before the assigner kept its index;
- the later batches: placed against the index kept since the last one;
- the settles: the index rebuilt from the store and the window clustered again, once no item
  came for a lease (--lease), and never more than a twentieth of the time.
Figures for docs/scaling.md, never a test assertion.

  bench/assigner_bench.py --feedmerge build/feedmerge --url postgresql://... [--feeds 10000]
      [--rounds 6] [--every 20] [--items 20] [--lease 15]

The URL's database is created afresh as feedmerge_assigner_bench and dropped after."""
import argparse
import importlib.util
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from email.utils import format_datetime

ROOT = pathlib.Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("steady_bench", ROOT / "bench/steady_bench.py")
steady = importlib.util.module_from_spec(spec)
spec.loader.exec_module(steady)


def with_database(url, name):
    head, _, query = url.partition("?")
    scheme, _, rest = head.partition("://")
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority}/{name}" + (f"?{query}" if query else "")


def psql(url, sql):
    subprocess.run(["psql", "-X", "-q", url, "-c", sql], check=True, capture_output=True)


def extra_feed(path, added):
    items = "".join(
        f"<item><title>{title}</title><link>http://127.0.9.1/extra/{k}</link>"
        f"<guid isPermaLink=\"false\">extra-{k}</guid><pubDate>{format_datetime(when, usegmt=True)}"
        f"</pubDate><description>{text}</description></item>\n"
        for k, (title, text, when) in enumerate(added))
    path.write_text("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>"
                    "<title>Extra</title><link>http://127.0.9.1/</link><description>bench"
                    f"</description>\n{items}</channel></rss>\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feedmerge", default=str(ROOT / "build/feedmerge"))
    parser.add_argument("--url", required=True, help="a PostgreSQL server (its superuser)")
    parser.add_argument("--feeds", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--every", type=float, default=20)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--lease", type=int, default=15)
    args = parser.parse_args()
    binary = str(pathlib.Path(args.feedmerge).resolve())
    work = pathlib.Path(tempfile.mkdtemp(prefix="feedmerge-assigner-bench-"))
    database = "feedmerge_assigner_bench"
    url = with_database(args.url, database)
    psql(args.url, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    psql(args.url, f"CREATE DATABASE {database}")
    run = None
    try:
        corpus = steady.Corpus(work / "feeds", args.feeds, 200, 20)
        corpus.write_all()
        extra = work / "extra.xml"
        added = []
        extra_feed(extra, added)
        feeds = [f"file://{corpus.path(n)}" for n in range(args.feeds)]

        def config(name, storage, level):
            lines = ["[server]", 'listen = ""', "[storage]", *storage, "[poll]",
                     'interval = "30m"', 'min_interval = "10s"', "[log]", f'level = "{level}"', ""]
            for feed in feeds:
                lines += ["[[feed]]", f'url = "{feed}"', ""]
            lines += ["[[feed]]", f'url = "file://{extra}"', 'interval = "10s"', ""]
            path = work / name
            path.write_text("\n".join(lines))
            return path

        sqlite = config("sqlite.toml", [f'database = "{work / "base.db"}"'], "warn")
        started = time.monotonic()
        subprocess.run([binary, "once", "--all", "--config", str(sqlite)], check=True,
                       capture_output=True)
        print(f"once --all into SQLite: {time.monotonic() - started:.0f} s")
        started = time.monotonic()
        subprocess.run([binary, "migrate-store", "--from", f"sqlite:{work / 'base.db'}", "--to",
                        url], check=True, capture_output=True)
        print(f"migrate-store: {time.monotonic() - started:.0f} s")
        pg = config("pg.toml", ['backend = "postgresql"', f'url = "{url}"',
                                f'lease = "{args.lease}s"'], "debug")
        log = work / "run.log"
        run = subprocess.Popen([binary, "run", "--config", str(pg)], stdout=subprocess.DEVNULL,
                               stderr=open(log, "w"))
        while "assigns them now" not in log.read_text():
            if run.poll() is not None:
                sys.exit(f"run ended: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        for round_ in range(args.rounds):
            now = datetime.now(timezone.utc).replace(microsecond=0)
            for k in range(args.items):
                n = len(added)
                added.append((f"Extra {n} kovalu mitera {round_} sanopi {n * 7919 % 10007}",
                              f"kovalu mitera sanopi lebeno {n} and {round_}", now))
            extra_feed(extra, added)
            time.sleep(args.every)
        time.sleep(2 * args.lease)
        run.send_signal(signal.SIGTERM)
        run.wait(timeout=120)
        run = None
        text = log.read_text()
        batches = re.findall(r"stories: (\d+) stored items assigned in (\d+) ms \((\d+) ms CPU\)",
                             text)
        settles = re.findall(r"stories: settled, (\d+) members moved, (\d+) stories made, in "
                             r"(\d+) ms \((\d+) ms CPU\)", text)
        print(f"{args.feeds} feeds, {args.feeds * 20} items stored before the run")
        for i, (count, wall, cpu) in enumerate(batches):
            what = "first batch of the term (index from the store)" if i == 0 else "batch"
            print(f"  {what}: {count} items, {wall} ms, {cpu} ms CPU")
        for moved, made, wall, cpu in settles:
            print(f"  settle: {moved} members moved, {made} stories made, {wall} ms, {cpu} ms CPU")
    finally:
        if run is not None:
            run.kill()
            run.wait()
        psql(args.url, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        subprocess.run(["rm", "-rf", str(work)])


if __name__ == "__main__":
    main()
