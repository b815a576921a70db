#!/usr/bin/python3
"""Parse throughput of python3-feedparser (Debian's, hence /usr/bin/python3) over the same
XML files bench_parse reads, for comparison with feedmerge. Files are read into memory first;
feedparser.parse(bytes) is timed with its defaults (sanitising, relative URI resolution).

  feedparser_bench.py [--label L] [--min-seconds S] [--max-mb M] DIR...

--max-mb takes an evenly spaced subsample of the files (every k-th, sorted by path) when the
corpus is larger, because feedparser needs minutes for a few hundred MB; MB/s and items/s are
per second, so the figures stay comparable. Prints one `RESULT key=value ...` line per mode, in
the format of bench_parse. MB are 10^6 bytes.
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


def run(label, mode, files, min_seconds, sampled):
    if not files:
        return
    nbytes = sum(len(b) for _, b in files)
    feedparser.parse(files[0][1])  # first call pays for lazy imports
    reps, items, failures = 0, 0, 0
    start = time.perf_counter()
    while True:
        for _, data in files:
            d = feedparser.parse(data)
            if reps == 0:
                items += len(d.entries)
                if d.bozo and not d.entries and not d.feed:
                    failures += 1
        reps += 1
        seconds = time.perf_counter() - start
        if seconds >= min_seconds:
            break
    mb = nbytes * reps / 1e6
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{label:<10} {mode:<16} {len(files):6d} files {nbytes / 1e6:9.2f} MB {items:8d} items "
          f"{failures:3d} failed  {seconds:6.2f} s x{reps:<4d} {mb / seconds:9.2f} MB/s "
          f"{items * reps / seconds:11.0f} items/s" + ("  (subsample)" if sampled else ""))
    print(f"RESULT corpus={label} mode={mode} files={len(files)} bytes={nbytes} items={items} "
          f"failures={failures} reps={reps} seconds={seconds:.6f} mb_per_s={mb / seconds:.3f} "
          f"items_per_s={items * reps / seconds:.1f} peak_rss_kb={rss_kb} sampled={int(sampled)}")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="corpus")
    parser.add_argument("--min-seconds", type=float, default=2.0)
    parser.add_argument("--max-mb", type=float, default=0, help="subsample above this size")
    parser.add_argument("dirs", nargs="+")
    args = parser.parse_args()
    xml = load(args.dirs)
    if not xml:
        sys.exit("feedparser_bench: no XML feed files found")
    xml, sampled = subsample(xml, int(args.max_mb * 1e6))
    run(args.label, "feedparser-xml", xml, args.min_seconds, sampled)


if __name__ == "__main__":
    main()
