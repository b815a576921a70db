#!/usr/bin/env python3
"""End-to-end checks of `feedmerge why`, `story merge` and `story split` through the real
binary on the labelled Oracle-TikTok week (tests/data/dedup/oracle-tiktok): the overrides must
show in `stories --json`, persist across runs, and be respected by items that arrive later
(a republished copy of a member goes to the story the person chose). file:// feeds only."""
import argparse
import html
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree

WIRE_MICROSOFT = "https://wire.example/2020/09/13/microsoft-says-tiktok-rejected-its-bid"
WIRE_ORACLE = "https://wire.example/2020/09/14/oracle-wins-tiktok-bid"
GAZETTE_ORACLE = "https://gazette.example/tech/oracle-picked-for-tiktok"
OCTET_ORACLE = "https://octet.example/actu/oracle-choisi-pour-tiktok"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--feedmerge", required=True)
    ap.add_argument("--feeds", required=True, type=pathlib.Path,
                    help="tests/data/dedup/oracle-tiktok/feeds")
    args = ap.parse_args()
    binary = os.path.abspath(args.feedmerge)
    failures = []

    def check(name, ok, detail=""):
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
        if not ok:
            failures.append(name)
            if detail:
                print(f"     {detail}")

    # Title and body of every labelled item, to write republished copies of them.
    originals = {}
    for path in sorted(args.feeds.glob("*.xml")):
        for item in ElementTree.parse(path).getroot().iter("item"):
            originals[item.findtext("link")] = (item.findtext("title"),
                                                item.findtext("description"),
                                                item.findtext("pubDate"))

    def copy_feed(path, entries):
        """A blog that republishes items of the week under its own links."""
        items = []
        for link, new_link in entries:
            title, body, published = originals[link]
            items.append(
                f"<item><title>Reblog: {html.escape(title)}</title><link>{new_link}</link>"
                f"<guid>{new_link}</guid><pubDate>{published}</pubDate>"
                f"<description>{html.escape(body)} You are reading a copy from the "
                f"Reblog archive.</description></item>")
        path.write_text('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
                        "<title>Reblog</title><link>https://reblog.example/</link>"
                        "<description>Reblog</description>" + "".join(items) +
                        "</channel></rss>")

    with tempfile.TemporaryDirectory(prefix="feedmerge-story-cli-") as tmp:
        tmp = pathlib.Path(tmp)
        config = tmp / "feedmerge.toml"
        feeds = sorted(args.feeds.glob("*.xml"))
        late = [tmp / "reblog-1.xml", tmp / "reblog-2.xml"]

        def write_config(extra):
            lines = ["[server]", 'listen = ""', "[storage]", f'database = "{tmp / "s.db"}"', ""]
            for feed in [*(f.resolve() for f in feeds), *extra]:
                lines += ["[[feed]]", f'url = "{feed.as_uri()}"', ""]
            config.write_text("\n".join(lines))

        def run(*command):
            return subprocess.run([binary, *command, "--config", str(config)],
                                  capture_output=True, text=True, timeout=120)

        def stories():
            listed = run("stories", "--json")
            if listed.returncode != 0:
                sys.exit(f"stories --json failed: {listed.stderr}")
            return {s["id"]: sorted(i["link"] for i in s["items"])
                    for s in json.loads(listed.stdout)["stories"]}

        def joined(text_too=False):
            """Each item's link -> (its story, its joined_by with "item" as a link)."""
            listed = json.loads(run("stories", "--json").stdout)["stories"]
            out = {}
            for story in listed:
                links = {i["id"]: i["link"] for i in story["items"]}
                for item in story["items"]:
                    why = dict(item["joined_by"])
                    if "item" in why:
                        why["item"] = links.get(why["item"], "outside: " + why["item"])
                    out[item["link"]] = (story["id"], why)
            return out

        def check_joined(name, by_link):
            """One founder per story; every link names a member of the same story, with P."""
            founders = {}
            bad = []
            for link, (sid, why) in by_link.items():
                if why["reason"] == "founder":
                    founders[sid] = founders.get(sid, 0) + 1
                if "item" in why and (by_link.get(why["item"], (None,))[0] != sid
                                      or not 0 < why["p"] <= 1):
                    bad.append((link, why))
                if why["reason"] in ("link", "same_url") and "item" not in why:
                    bad.append((link, why))
            check(f"{name}: joined_by names members of the same story", not bad, str(bad))
            check(f"{name}: one founder per story", all(n == 1 for n in founders.values()),
                  str(founders))

        def story_of(all_stories, link):
            return next((sid for sid, links in all_stories.items() if link in links), None)

        write_config([])
        first = run("once", "--all")
        check("once --all exits 0", first.returncode == 0, first.stderr[-2000:])
        before = stories()
        why_first = joined()
        check_joined("first poll", why_first)
        check("the translation joined by a link with its P",
              why_first[OCTET_ORACLE][1]["reason"] == "link"
              and why_first[OCTET_ORACLE][1]["p"] >= 0.25, str(why_first[OCTET_ORACLE]))
        text = run("stories").stdout
        check("the text report says why briefly", "; founder)" in text and "; P 0." in text,
              text[:1000])

        # why: a translation joins, a look-alike event of the day before does not.
        why = run("why", WIRE_ORACLE, OCTET_ORACLE)
        check("why exits 0", why.returncode == 0, why.stderr)
        check("why explains a translation",
              "same story, as translation" in why.stdout and "languages: different" in why.stdout
              and "stored: in the same story" in why.stdout, why.stdout)
        octet = why_first[OCTET_ORACLE][1]
        check("why says why each item is in its story, as stories --json does",
              f"joined by: link, P {octet['p']:.2f} with {octet['item']}" in why.stdout,
              (octet, why.stdout))
        why = run("why", WIRE_ORACLE, WIRE_MICROSOFT)
        check("why explains two events apart",
              "different stories" in why.stdout and "stored: in different stories" in why.stdout
              and "shared names and numbers:" in why.stdout, why.stdout)
        why = run("why", WIRE_ORACLE, "https://nowhere.example/x")
        check("why names an unknown link",
              why.returncode != 0 and "https://nowhere.example/x" in why.stderr, why.stderr)

        # split: the report leaves the Oracle story for a story of its own.
        oracle = story_of(before, WIRE_ORACLE)
        check("the report starts in the Oracle story", story_of(before, GAZETTE_ORACLE) == oracle)
        split = run("story", "split", GAZETTE_ORACLE)
        check("story split exits 0", split.returncode == 0, split.stderr)
        after_split = stories()
        alone = story_of(after_split, GAZETTE_ORACLE)
        check("split item is alone in a new story",
              alone is not None and alone != oracle and after_split[alone] == [GAZETTE_ORACLE]
              and alone not in before, str(after_split))
        check("the rest of the story keeps its id",
              after_split.get(oracle) == sorted(set(before[oracle]) - {GAZETTE_ORACLE}))

        # merge: the Microsoft story goes into the Oracle story.
        microsoft = story_of(before, WIRE_MICROSOFT)
        merge = run("story", "merge", oracle, microsoft)
        check("story merge exits 0", merge.returncode == 0, merge.stderr)
        after_merge = stories()
        check("merged story holds both",
              sorted(before[microsoft] + after_split[oracle]) == after_merge.get(oracle)
              and microsoft not in after_merge, str(after_merge))
        why_merged = joined()
        check("members merged in by hand say so",
              all(why_merged[link][1]["reason"] == "merged_by_hand"
                  for link in before[microsoft]), str(why_merged))
        check("nobody is there by the split item",
              all(why.get("item") != GAZETTE_ORACLE for sid, why in why_merged.values()
                  if sid == oracle), str(why_merged))
        check_joined("after split and merge", why_merged)
        bad = run("story", "merge", oracle, "999999")
        check("merging an unknown story fails", bad.returncode != 0 and bad.stderr, bad.stderr)

        # Later items: copies of the split item and of the merged-in item follow the overrides.
        copy_feed(late[0], [(GAZETTE_ORACLE, "https://reblog.example/oracle-picked"),
                            (WIRE_MICROSOFT, "https://reblog.example/microsoft-out")])
        write_config([late[0]])
        second = run("once", "--all")
        check("second once --all exits 0", second.returncode == 0, second.stderr[-2000:])
        later = stories()
        check("a copy of the split item joins its new story",
              story_of(later, "https://reblog.example/oracle-picked") == alone, str(later))
        check("a copy of a merged-in item joins the merged story",
              story_of(later, "https://reblog.example/microsoft-out") == oracle, str(later))
        check("the split item stays out of the Oracle story",
              story_of(later, GAZETTE_ORACLE) == alone and GAZETTE_ORACLE not in later[oracle])
        check_joined("after later items", joined())
        check("other stories keep their ids and members",
              all(later.get(sid) == links for sid, links in before.items()
                  if sid not in (oracle, microsoft)), str(later))

    # A Title Case headline over a body that names nobody: its capitals are names where the
    # other items write them so (Mnuchin, Oracle), words where they write them in lower case.
    with tempfile.TemporaryDirectory(prefix="feedmerge-story-cli-") as tmp:
        tmp = pathlib.Path(tmp)
        headline_link = "https://headlines.example/2020/09/14/review"
        headlines = tmp / "headlines.xml"
        headlines.write_text(
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            "<title>Headlines</title><link>https://headlines.example/</link>"
            "<description>Headlines</description><item>"
            "<title>Mnuchin Says Treasury Will Review Oracle Proposal This Week</title>"
            f"<link>{headline_link}</link><guid>{headline_link}</guid>"
            "<pubDate>Mon, 14 Sep 2020 12:00:00 +0000</pubDate>"
            "<description>The department received the plan on Monday and will study it."
            "</description></item></channel></rss>")
        config = tmp / "feedmerge.toml"
        lines = ["[server]", 'listen = ""', "[storage]", f'database = "{tmp / "h.db"}"', ""]
        for feed in [*(f.resolve() for f in sorted(args.feeds.glob("*.xml"))), headlines]:
            lines += ["[[feed]]", f'url = "{feed.as_uri()}"', ""]
        config.write_text("\n".join(lines))
        once = subprocess.run([binary, "once", "--all", "--config", str(config)],
                              capture_output=True, text=True, timeout=120)
        check("once --all with a Title Case headline exits 0", once.returncode == 0, once.stderr)
        why = subprocess.run([binary, "why", headline_link, WIRE_ORACLE, "--config", str(config)],
                             capture_output=True, text=True, timeout=120)
        line = next((x for x in why.stdout.splitlines()
                     if x.startswith("A's Title Case headline: names as other items write them:")),
                    "")
        words = line.split(":")[-1].split()
        check("why names a Title Case headline's names as the other items write them",
              "mnuchin" in words and "oracle" in words and "proposal" not in words
              and "review" not in words, why.stdout)
        shared = next((x for x in why.stdout.splitlines()
                       if x.startswith("shared names and numbers:")), "")
        check("those names are shared names", "mnuchin" in shared and "oracle" in shared,
              why.stdout)

    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
