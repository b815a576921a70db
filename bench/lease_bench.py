#!/usr/bin/env python3
"""What leases cost: P `feedmerge run` processes share one PostgreSQL database and N loopback
feeds (scripts/gen-corpus --serve) under H host names for D seconds; prints each lease round's
time (the keeper's debug line "leases: round in N us": one transaction that registers, renews,
rebalances and claims, plus the assigner lock check) and the polls made, so the claim and renew
cost per poll follows: rounds x round time / polls.

  bench/lease_bench.py --feedmerge build/feedmerge --url postgresql://... \\
      [--processes 3] [--feeds 300] [--hosts 30] [--seconds 40] [--interval 10] [--lease 6]

The URL's database is created afresh as feedmerge_lease_bench and dropped after."""
import argparse
import pathlib
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time


def with_database(url, name):
    head, _, query = url.partition("?")
    scheme, _, rest = head.partition("://")
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority}/{name}" + (f"?{query}" if query else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--feedmerge", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--processes", type=int, default=3)
    ap.add_argument("--feeds", type=int, default=300)
    ap.add_argument("--hosts", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=40)
    ap.add_argument("--interval", type=int, default=10)
    ap.add_argument("--lease", type=int, default=6)
    args = ap.parse_args()
    gen = pathlib.Path(__file__).resolve().parent.parent / "scripts" / "gen-corpus"
    name = "feedmerge_lease_bench"
    url = with_database(args.url, name)
    psql = lambda sql: subprocess.run(["psql", "-X", "-q", args.url, "-c", sql], check=True,
                                      capture_output=True)
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    psql(f"CREATE DATABASE {name}")
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="feedmerge-lease-bench-"))
    subprocess.run([sys.executable, gen, "--feeds", str(args.feeds), "--items", "8", "--out",
                    str(tmp / "c")], check=True, capture_output=True)
    server = subprocess.Popen([sys.executable, gen, "--serve", "0", "--out", str(tmp / "c"),
                               "--port-file", str(tmp / "port")], stdout=subprocess.DEVNULL)
    while not (tmp / "port").exists() or not (tmp / "port").read_text().strip():
        time.sleep(0.05)
    port = int((tmp / "port").read_text())
    names = sorted(p.name for p in (tmp / "c").iterdir()
                   if p.suffix in (".rss", ".atom", ".rdf", ".json") and p.name != "corpus.json")
    lines = ["[server]", 'listen = ""', "[storage]", 'backend = "postgresql"', f'url = "{url}"',
             f'lease = "{args.lease}s"', "[poll]", f'interval = "{args.interval}s"',
             f'min_interval = "{args.interval}s"', f'max_interval = "{args.interval}s"',
             "allow_private_networks = true", "[log]", 'level = "debug"', ""]
    for i, feed in enumerate(names):
        lines += ["[[feed]]", f'url = "http://h{i % args.hosts}.localhost:{port}/{feed}"', ""]
    (tmp / "bench.toml").write_text("\n".join(lines))
    processes = []
    try:
        for i in range(args.processes):
            log = open(tmp / f"p{i}.log", "w")
            processes.append(subprocess.Popen([args.feedmerge, "run", "--config",
                                               str(tmp / "bench.toml")],
                                              stdout=log, stderr=subprocess.STDOUT))
        time.sleep(args.seconds)  # a benchmark's duration, not a condition to await
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait()
        server.kill()
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    rounds, polls = [], 0
    for i in range(args.processes):
        text = (tmp / f"p{i}.log").read_text()
        rounds += [int(m) for m in re.findall(r"leases: round in (\d+) us", text)]
        polls += len(re.findall(r": polling$", text, re.M))
    shutil.rmtree(tmp, ignore_errors=True)
    total = sum(rounds) / 1e6
    print(f"{args.processes} processes, {args.feeds} feeds on {args.hosts} hosts, "
          f"{args.seconds:.0f} s: {len(rounds)} lease rounds, median "
          f"{statistics.median(rounds) / 1000:.2f} ms, p90 "
          f"{sorted(rounds)[int(len(rounds) * 0.9)] / 1000:.2f} ms; {polls} polls; "
          f"lease time per poll {total / max(polls, 1) * 1000:.3f} ms")


if __name__ == "__main__":
    sys.exit(main())
