#!/usr/bin/env python3
"""What leases cost: P `feedmerge run` processes share one PostgreSQL database and N loopback
feeds (scripts/gen-corpus --serve) under H host names for D seconds; prints each lease round's
time (the keeper's debug line "leases: round in N us": one transaction that registers, renews,
rebalances and claims, plus the assigner lock check) and the polls made, so the claim and renew
cost per poll follows: rounds x round time / polls. After a warm-up (the first round, by
default one interval and one lease), it also measures CPU per poll over the rest: of the
`feedmerge` processes (utime + stime from /proc), and of the PostgreSQL server when it runs on
this machine (every process named `postgres`); `--sqlite` runs one process on a SQLite file
instead, for the same figures without a server.

  bench/lease_bench.py --feedmerge build/feedmerge --url postgresql://... \\
      [--processes 3] [--feeds 300] [--hosts 30] [--seconds 40] [--interval 10] [--lease 6]
      [--warmup SECONDS] [--sqlite]

The URL's database is created afresh as feedmerge_lease_bench and dropped after."""
import argparse
import os
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


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def server_cpu_seconds():
    """CPU of every process named postgres on this machine (the benchmark's server)."""
    total = 0.0
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    total += cpu_seconds(entry.name)
            except OSError:
                pass
    return total


def polls_in(text):
    return len(re.findall(r": polling$", text, re.M))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--feedmerge", required=True)
    ap.add_argument("--url", help="a PostgreSQL server's URL (not with --sqlite)")
    ap.add_argument("--processes", type=int, default=3)
    ap.add_argument("--feeds", type=int, default=300)
    ap.add_argument("--hosts", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=40)
    ap.add_argument("--interval", type=int, default=10)
    ap.add_argument("--lease", type=int, default=6)
    ap.add_argument("--warmup", type=float, default=None,
                    help="seconds before CPU is counted (default interval + lease)")
    ap.add_argument("--sqlite", action="store_true",
                    help="one process on a SQLite file instead (no server)")
    args = ap.parse_args()
    if args.sqlite:
        args.processes = 1
    warmup = args.warmup if args.warmup is not None else args.interval + args.lease
    gen = pathlib.Path(__file__).resolve().parent.parent / "scripts" / "gen-corpus"
    name = "feedmerge_lease_bench"
    url = with_database(args.url, name) if args.url else ""
    if not args.sqlite and not args.url:
        ap.error("--url is required without --sqlite")

    def psql(sql):
        if not args.sqlite:
            subprocess.run(["psql", "-X", "-q", args.url, "-c", sql], check=True,
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
    storage = ([f'database = "{tmp / "bench.db"}"'] if args.sqlite else
               ['backend = "postgresql"', f'url = "{url}"', f'lease = "{args.lease}s"'])
    lines = ["[server]", 'listen = ""', "[storage]", *storage, "[poll]",
             f'interval = "{args.interval}s"',
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
        time.sleep(warmup)  # a benchmark's duration, not a condition to await
        start_client = sum(cpu_seconds(p.pid) for p in processes)
        start_server = server_cpu_seconds()
        start_polls = sum(polls_in((tmp / f"p{i}.log").read_text())
                          for i in range(args.processes))
        time.sleep(max(0.0, args.seconds - warmup))
        client = sum(cpu_seconds(p.pid) for p in processes) - start_client
        served = server_cpu_seconds() - start_server
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
        polls += polls_in(text)
    shutil.rmtree(tmp, ignore_errors=True)
    total = sum(rounds) / 1e6
    print(f"{args.processes} processes, {args.feeds} feeds on {args.hosts} hosts, "
          f"{args.seconds:.0f} s: {polls} polls")
    if rounds:
        print(f"{len(rounds)} lease rounds, median {statistics.median(rounds) / 1000:.2f} ms, "
              f"p90 {sorted(rounds)[int(len(rounds) * 0.9)] / 1000:.2f} ms; "
              f"lease time per poll {total / max(polls, 1) * 1000:.3f} ms")
    counted = polls - start_polls
    print(f"after {warmup:.0f} s of warm-up: {counted} polls; CPU per poll: feedmerge "
          f"{client / max(counted, 1) * 1000:.3f} ms"
          + ("" if args.sqlite else
             f", PostgreSQL server {served / max(counted, 1) * 1000:.3f} ms"))


if __name__ == "__main__":
    sys.exit(main())
