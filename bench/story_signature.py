#!/usr/bin/env python3
"""Prints a hash of the story partition of a feedmerge SQLite database: the set of stories, each
the set of its members as (feed URL, item key). Two databases made from the same feeds by two
builds have the same signature when the builds formed the same stories (ids may differ).

  bench/story_signature.py var/feedmerge.db
"""
import hashlib
import sqlite3
import sys

db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
rows = db.execute(
    "SELECT s.story_id, f.url, i.key FROM items i JOIN feeds f ON f.id = i.feed_id "
    "LEFT JOIN item_stories s ON s.item_id = i.id").fetchall()
stories = {}
for story_id, url, key in rows:
    stories.setdefault(story_id, []).append(url + "\t" + key)
parts = sorted("\n".join(sorted(members)) for members in stories.values())
digest = hashlib.sha256("\n\n".join(parts).encode()).hexdigest()[:16]
print(f"{len(rows)} items {len(stories)} stories {digest}")
