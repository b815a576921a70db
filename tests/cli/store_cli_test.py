#!/usr/bin/env python3
"""The PostgreSQL store through the real binary: `once --all` on the Oracle-TikTok week into
SQLite, `migrate-store` into a fresh PostgreSQL database, then `stories --json` and `feeds
--json` and `render` through a PostgreSQL config (url, then url_file) must print what they
print from SQLite; a second migrate-store is refused; a poll through PostgreSQL stores nothing
twice; `run` serves what `render` renders; `once --all` into an empty PostgreSQL database
makes SQLite's stories; a postgresql backend without a URL is a config error naming the key.

Usage: store_cli_test.py --feedmerge BIN --feeds tests/data/dedup/oracle-tiktok/feeds
The server: $FEEDMERGE_TEST_PG_URL (CTest's pg_server fixture sets it); this test makes its own
database there and drops it after."""
import argparse
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def with_database(url, name):
    head, _, query = url.partition("?")
    scheme, _, rest = head.partition("://")
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority}/{name}" + (f"?{query}" if query else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--feedmerge", required=True)
    ap.add_argument("--feeds", required=True, type=pathlib.Path)
    args = ap.parse_args()
    server = os.environ.get("FEEDMERGE_TEST_PG_URL", "")
    if not server:
        sys.exit("FAIL: FEEDMERGE_TEST_PG_URL is not set (CTest's pg_server fixture sets it; "
                 "by hand: scripts/pg-test-server.sh start DIR)")
    binary = os.path.abspath(args.feedmerge)
    failures = []

    def check(name, ok, detail=""):
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
        if not ok:
            failures.append(name)
            if detail:
                print(f"     {detail}")

    def psql(sql):
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", server, "-c", sql],
                       check=True, capture_output=True, text=True, timeout=60)

    database = f"feedmerge_cli_{os.getpid()}"
    fresh = f"feedmerge_cli_fresh_{os.getpid()}"
    url = with_database(server, database)
    for name in (database, fresh):
        psql(f"DROP DATABASE IF EXISTS {name}")
        psql(f"CREATE DATABASE {name}")
    try:
        with tempfile.TemporaryDirectory(prefix="feedmerge-store-cli-") as tmp:
            tmp = pathlib.Path(tmp)
            feeds = [f.resolve() for f in sorted(args.feeds.glob("*.xml"))]
            sqlite_db = tmp / "s.db"

            def config(name, storage):
                path = tmp / name
                lines = ["[server]", 'listen = ""', "[storage]", *storage, ""]
                for feed in feeds:
                    lines += ["[[feed]]", f'url = "{feed.as_uri()}"', ""]
                path.write_text("\n".join(lines))
                return path

            sqlite_config = config("sqlite.toml", [f'database = "{sqlite_db}"'])
            pg_config = config("pg.toml", ['backend = "postgresql"', f'url = "{url}"'])
            (tmp / "pg-url").write_text(url + "\n")
            pg_file_config = config("pg-file.toml",
                                    ['backend = "postgresql"', 'url_file = "pg-url"'])

            def run(*command, config_path):
                return subprocess.run([binary, *command, "--config", str(config_path)],
                                      capture_output=True, text=True, timeout=120)

            polled = run("once", "--all", config_path=sqlite_config)
            check("once --all into SQLite", polled.returncode == 0, polled.stderr)

            def reports(config_path):
                stories = run("stories", "--json", config_path=config_path)
                listed = run("feeds", "--json", config_path=config_path)
                check(f"stories and feeds through {config_path.name}",
                      stories.returncode == 0 and listed.returncode == 0,
                      stories.stderr + listed.stderr)
                return stories.stdout, listed.stdout

            sqlite_stories, sqlite_feeds = reports(sqlite_config)
            sqlite_render = run("render", "/feed.xml", config_path=sqlite_config).stdout
            check("the corpus made stories", len(json.loads(sqlite_stories or "[]")) > 0)

            migrated = subprocess.run(
                [binary, "migrate-store", "--from", f"sqlite:{sqlite_db}", "--to", url],
                capture_output=True, text=True, timeout=120)
            check("migrate-store copies", migrated.returncode == 0 and
                  migrated.stdout.startswith("copied 3 feeds, "), migrated.stdout +
                  migrated.stderr)

            for config_path in (pg_config, pg_file_config):
                pg_stories, pg_feeds = reports(config_path)
                check(f"stories --json through {config_path.name} equal SQLite's",
                      pg_stories == sqlite_stories)
                check(f"feeds --json through {config_path.name} equal SQLite's",
                      pg_feeds == sqlite_feeds,
                      f"sqlite: {sqlite_feeds[:300]}\n     pg: {pg_feeds[:300]}")
                rendered = run("render", "/feed.xml", config_path=config_path)
                check(f"render /feed.xml through {config_path.name} equals SQLite's",
                      rendered.returncode == 0 and rendered.stdout == sqlite_render and
                      "<item>" in sqlite_render, rendered.stderr)

            again = subprocess.run(
                [binary, "migrate-store", "--from", f"sqlite:{sqlite_db}", "--to", url],
                capture_output=True, text=True, timeout=120)
            check("a second migrate-store is refused, status 1",
                  again.returncode == 1 and "already holds 3 feeds" in again.stderr and
                  "empty database only" in again.stderr, again.stderr)

            # The daemon's writer on PostgreSQL: the same documents store nothing twice.
            repolled = run("once", "--all", config_path=pg_config)
            check("once --all through PostgreSQL", repolled.returncode == 0, repolled.stderr)
            pg_stories, _ = reports(pg_config)
            check("polling the same documents again changes no story",
                  pg_stories == sqlite_stories)

            # The daemon on PostgreSQL serves what `render` renders from it.
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            served_config = config("pg-run.toml", ['backend = "postgresql"', f'url = "{url}"'])
            served_config.write_text(served_config.read_text().replace(
                'listen = ""', f'listen = "127.0.0.1:{port}"\nbase_url = "http://localhost/"'))
            expected = run("render", "/feed.xml", config_path=served_config).stdout
            with open(tmp / "run.log", "w") as log:
                daemon = subprocess.Popen([binary, "run", "--config", str(served_config)],
                                          stdout=log, stderr=subprocess.STDOUT)
            served = None
            try:
                started = time.monotonic()
                while time.monotonic() - started < 30 and daemon.poll() is None:
                    try:
                        served = urllib.request.urlopen(f"http://127.0.0.1:{port}/feed.xml",
                                                        timeout=5).read().decode()
                        break
                    except OSError:
                        time.sleep(0.1)  # not listening yet
            finally:
                daemon.terminate()
                stopped = daemon.wait(timeout=60)
            check("run on PostgreSQL serves what render renders",
                  served == expected and "<item>" in expected,
                  (tmp / "run.log").read_text()[-2000:])
            check("run on PostgreSQL stops cleanly on SIGTERM", stopped == 0,
                  f"status {stopped}: " + (tmp / "run.log").read_text()[-3000:])

            # The whole pipeline on PostgreSQL from nothing: the same stories, ids and members
            # as on SQLite (their times are when each run saw them).
            def signature(text):
                return sorted((s["id"], s["title"], s["link"], sorted(m["link"] for m in s["items"]))
                              for s in json.loads(text)["stories"])
            fresh_config = config("fresh.toml", ['backend = "postgresql"',
                                                 f'url = "{with_database(server, fresh)}"'])
            first = run("once", "--all", config_path=fresh_config)
            check("once --all into an empty PostgreSQL database", first.returncode == 0,
                  first.stderr)
            fresh_stories, _ = reports(fresh_config)
            check("it makes the stories SQLite made",
                  signature(fresh_stories or '{"stories": []}') == signature(sqlite_stories))

            broken = config("broken.toml", ['backend = "postgresql"'])
            checked = run("check-config", config_path=broken)
            check("backend postgresql without a URL is an error naming the key",
                  checked.returncode == 1 and
                  'storage.backend: "postgresql" needs storage.url or storage.url_file' in
                  checked.stderr, checked.stderr)

            usage = subprocess.run([binary, "migrate-store", "--from", str(sqlite_db), "--to",
                                    url], capture_output=True, text=True, timeout=60)
            check("--from without sqlite: is a usage error", usage.returncode == 2,
                  usage.stderr)
    finally:
        for name in (database, fresh):
            psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    if failures:
        print(f"{len(failures)} failed")
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
