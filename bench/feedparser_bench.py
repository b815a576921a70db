#!/usr/bin/python3
"""Parse throughput of python3-feedparser (Debian's, hence /usr/bin/python3) over the same
XML files bench_parse reads, for comparison with feedmerge. Files are read into memory first;
feedparser.parse(bytes) is timed with its defaults (sanitising, relative URI resolution).

  feedparser_bench.py [--label L] [--rounds R] [--min-seconds S] [--max-mb M] DIR...

Timing is in process CPU time, best of R rounds (default 2) of at least S seconds (default 1).

--max-mb takes an evenly spaced subsample of the files (every k-th, sorted by path) when the
corpus is larger, because feedparser needs minutes for a few hundred MB; MB/s and items/s are
per second, so the figures stay comparable. Prints one `RESULT key=value ...` line per mode, in
the format of bench_parse. MB are 10^6 bytes. feedparser does not fail on bad XML (it sets
`bozo` and carries on), so failures is always 0.
"""
import argparse
import math
import os
import resource
import sys
import time

import feedparser

XML_EXTENSIONS = {".xml", ".rss", ".atom", ".rdf"}


def load(dirs):
    """Returns the XML feed files as (path, bytes), selected as bench_parse selects them.

    Debian's feedparser 6.0.10 has no JSON Feed support (it returns 0 entries), so JSON files
    are left out here and only feedmerge's JSON figures are reported.
    """
    paths = []
    for d in dirs:
        for root, _, names in os.walk(d):
            paths.extend(os.path.join(root, n) for n in names)
    files = []
    for path in sorted(paths):
        if os.path.splitext(path)[1] in XML_EXTENSIONS:
            with open(path, "rb") as f:
                files.append((path, f.read()))
    return files


def subsample(files, max_bytes):
    total = sum(len(b) for _, b in files)
    if max_bytes <= 0 or total <= max_bytes:
        return files, False
    step = math.ceil(total / max_bytes)
    return files[::step], True


def run(label, mode, files, rounds, min_seconds, sampled):
    """Times rounds of whole passes in process CPU time (the machine is shared; waiting for a
    core is not parsing) and reports the best round, as bench_parse does."""
    if not files:
        return
    nbytes = sum(len(b) for _, b in files)
    items = sum(len(feedparser.parse(data).entries) for _, data in files)  # also warms up
    best = None
    for _ in range(rounds):
        reps = 0
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        while True:
            for _, data in files:
                feedparser.parse(data)
            reps += 1
            cpu = time.process_time() - cpu_start
            if cpu >= min_seconds:
                break
        wall = time.perf_counter() - wall_start
        if best is None or reps / cpu > best[0] / best[1]:
            best = (reps, cpu, wall)
    reps, cpu, wall = best
    mb_per_s = nbytes / 1e6 * reps / cpu
    items_per_s = items * reps / cpu
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{label:<10} {mode:<16} {len(files):6d} files {nbytes / 1e6:8.2f} MB {items:7d} items "
          f"  0 failed  {cpu:5.2f} cpu-s {wall:5.2f} s x{reps:<4d} {mb_per_s:8.2f} MB/s "
          f"{items_per_s:10.0f} items/s" + ("  (subsample)" if sampled else ""))
    print(f"RESULT corpus={label} mode={mode} files={len(files)} bytes={nbytes} items={items} "
          f"failures=0 reps={reps} cpu_seconds={cpu:.6f} wall_seconds={wall:.6f} "
          f"mb_per_s={mb_per_s:.3f} items_per_s={items_per_s:.1f} peak_rss_kb={rss_kb} "
          f"sampled={int(sampled)}")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="corpus")
    parser.add_argument("--rounds", type=int, default=2, help="best of this many rounds")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="CPU seconds per round")
    parser.add_argument("--max-mb", type=float, default=0, help="subsample above this size")
    parser.add_argument("dirs", nargs="+")
    args = parser.parse_args()
    xml = load(args.dirs)
    if not xml:
        sys.exit("feedparser_bench: no XML feed files found")
    xml, sampled = subsample(xml, int(args.max_mb * 1e6))
    run(args.label, "feedparser-xml", xml, max(1, args.rounds), args.min_seconds, sampled)


if __name__ == "__main__":
    main()
