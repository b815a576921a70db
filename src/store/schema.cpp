#include "store/schema.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Transaction.h>

#include <array>

namespace feedmerge::store::detail {
namespace {

// Version 1. Times are INTEGER unix seconds (UTC). STRICT tables make a wrongly typed bind
// an error instead of a silently stored string.
//
// - feeds: one row per configured URL (its identity; a held permanent redirect changes
//   fetch_url, never url) with the HTTP and scheduling state that must survive a restart.
// - items: keyed by (feed_id, key), see item_codec.h. Authors, categories and enclosures are
//   JSON text: they are always read and written with their item and never queried alone, so
//   one row per item keeps a 1,000-item poll at one statement per item. `published` is the
//   date we use (the feed's, or first_seen when missing or far in the future, flagged by
//   published_estimated).
//   Stories come with migrations 2 and 3.
// - tombstones: the keys retention removed, so that an item the feed still lists is not
//   stored again and shown as new. last_seen is when a poll last saw the key in the document;
//   prune() drops tombstones nobody has listed for a long time.
constexpr std::string_view kVersion1 = R"sql(
PRAGMA application_id = 1179472455;

CREATE TABLE feeds (
  id INTEGER PRIMARY KEY,
  url TEXT NOT NULL UNIQUE,
  fetch_url TEXT NOT NULL DEFAULT '',
  title TEXT NOT NULL DEFAULT '',
  link TEXT NOT NULL DEFAULT '',
  etag TEXT NOT NULL DEFAULT '',
  last_modified TEXT NOT NULL DEFAULT '',
  body_hash TEXT NOT NULL DEFAULT '',
  next_poll INTEGER,
  interval_seconds INTEGER,
  last_attempt INTEGER,
  last_success INTEGER,
  failing_since INTEGER,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  last_status INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  disabled_reason TEXT NOT NULL DEFAULT '',
  pending_redirect TEXT NOT NULL DEFAULT '',
  pending_redirect_polls INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE items (
  id INTEGER PRIMARY KEY,
  feed_id INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  guid TEXT NOT NULL DEFAULT '',
  title TEXT NOT NULL DEFAULT '',
  link TEXT NOT NULL DEFAULT '',
  summary TEXT NOT NULL DEFAULT '',
  content TEXT NOT NULL DEFAULT '',
  authors TEXT NOT NULL DEFAULT '[]',
  categories TEXT NOT NULL DEFAULT '[]',
  image TEXT NOT NULL DEFAULT '',
  enclosures TEXT NOT NULL DEFAULT '[]',
  published INTEGER NOT NULL,
  published_estimated INTEGER NOT NULL DEFAULT 0 CHECK (published_estimated IN (0, 1)),
  updated INTEGER,
  first_seen INTEGER NOT NULL,
  changed_at INTEGER,
  content_hash INTEGER NOT NULL,
  UNIQUE (feed_id, key)
) STRICT;
CREATE INDEX items_by_feed_first_seen ON items (feed_id, first_seen);
CREATE INDEX items_by_first_seen ON items (first_seen);
CREATE INDEX items_by_published ON items (published);

CREATE TABLE tombstones (
  feed_id INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  removed_at INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  PRIMARY KEY (feed_id, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX tombstones_by_last_seen ON tombstones (last_seen);
)sql";

// Version 2: stories. A story is the set of items that report the same news (src/dedup/).
// - id: AUTOINCREMENT so that an id is never handed out again, even after retention removed
//   the story: published entry ids derive from it and must never be recycled.
// - first_published: the earliest publication time of its members, the merged entry's date;
//   updated: when a member last joined or changed (Atom `updated`).
// - representative_item_id: the item whose title and link the merged entry shows.
// - items.story_id is nullable, so ALTER TABLE can add it with its foreign key.
// - items.canonical_url: the link as dedup matches it (dedup/canonical_url.h); the link as
//   published stays in `link`. items.story_relation: how the item joined its story
//   ('original', 'same_url', 'copy', 'translation', 'report', 'manual'; '' = not assigned):
//   the representative is chosen among members that are not copies.
// - story_overrides: what a person decided (`story merge`, `story split`); the daemon
//   rebuilds its story index when a new row appears, and assignments never move an item.
constexpr std::string_view kVersion2 = R"sql(
CREATE TABLE stories (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  first_published INTEGER NOT NULL,
  first_seen INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  representative_item_id INTEGER REFERENCES items (id) ON DELETE SET NULL
) STRICT;
CREATE INDEX stories_by_first_published ON stories (first_published);
CREATE INDEX stories_by_updated ON stories (updated);

ALTER TABLE items ADD COLUMN story_id INTEGER REFERENCES stories (id) ON DELETE SET NULL;
CREATE INDEX items_by_story ON items (story_id);
ALTER TABLE items ADD COLUMN canonical_url TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN story_relation TEXT NOT NULL DEFAULT '';

CREATE TABLE story_overrides (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL CHECK (kind IN ('merge', 'split')),
  story_id INTEGER NOT NULL,
  other_story_id INTEGER,
  item_id INTEGER,
  created INTEGER NOT NULL
) STRICT;
)sql";

// Version 3: items rebuilt in a better order, and an item's story moved out of `items`.
// - Column order: SQLite reads a column by walking the record from its start, through the
//   overflow pages of every long column before it. Version 1 put summary and content (KBs)
//   before the dates and the content hash, so every lookup of an item's hash (each poll of a
//   changed feed), of its dates (stories, retention) read its whole text. The short columns
//   now come first, the long texts last.
// - item_stories: putting an item into a story rewrote its whole row (content included), so
//   the first poll of a large list wrote every item twice; a narrow row per member costs a
//   few dozen bytes. An item without a row has no story yet. Deleting an item or a story
//   deletes the membership (a story deleted by retention or `story merge` leaves its items
//   unassigned, as ON DELETE SET NULL did).
// The rebuild runs with foreign keys off (Store::open turns them on after migrating), so
// dropping the old table fires no ON DELETE action; ids are kept, so every reference holds.
constexpr std::string_view kVersion3 = R"sql(
CREATE TABLE items_v3 (
  id INTEGER PRIMARY KEY,
  feed_id INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  published INTEGER NOT NULL,
  published_estimated INTEGER NOT NULL DEFAULT 0 CHECK (published_estimated IN (0, 1)),
  updated INTEGER,
  first_seen INTEGER NOT NULL,
  changed_at INTEGER,
  content_hash INTEGER NOT NULL,
  guid TEXT NOT NULL DEFAULT '',
  link TEXT NOT NULL DEFAULT '',
  title TEXT NOT NULL DEFAULT '',
  image TEXT NOT NULL DEFAULT '',
  authors TEXT NOT NULL DEFAULT '[]',
  categories TEXT NOT NULL DEFAULT '[]',
  enclosures TEXT NOT NULL DEFAULT '[]',
  summary TEXT NOT NULL DEFAULT '',
  content TEXT NOT NULL DEFAULT '',
  UNIQUE (feed_id, key)
) STRICT;
INSERT INTO items_v3 (id, feed_id, key, published, published_estimated, updated, first_seen,
                      changed_at, content_hash, guid, link, title, image, authors, categories,
                      enclosures, summary, content)
  SELECT id, feed_id, key, published, published_estimated, updated, first_seen, changed_at,
         content_hash, guid, link, title, image, authors, categories, enclosures, summary,
         content
  FROM items;

CREATE TABLE item_stories (
  item_id INTEGER PRIMARY KEY REFERENCES items (id) ON DELETE CASCADE,
  story_id INTEGER NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
  relation TEXT NOT NULL DEFAULT '',
  canonical_url TEXT NOT NULL DEFAULT ''
) STRICT;
INSERT INTO item_stories (item_id, story_id, relation, canonical_url)
  SELECT id, story_id, story_relation, canonical_url FROM items WHERE story_id IS NOT NULL;
CREATE INDEX item_stories_by_story ON item_stories (story_id);

DROP TABLE items;
ALTER TABLE items_v3 RENAME TO items;
CREATE INDEX items_by_feed_first_seen ON items (feed_id, first_seen);
CREATE INDEX items_by_first_seen ON items (first_seen);
CREATE INDEX items_by_published ON items (published);
)sql";

// Version 4: the index by time that loads the stories' window moves from items to
// item_stories.
// - items_by_published: an item's publication date falls anywhere in its feed's history, so
//   each poll's items landed on pages all over that index, and every per-feed commit wrote
//   them to the WAL again: a quarter of a first poll's WAL. Memberships are written once per
//   batch in time order, so their index grows at its end.
// - item_stories.story_time: the time the stories measure the item by (dedup_time(): the
//   publication date, or the update date when the feed gave none), as when it joined its
//   story. The window is loaded by it.
constexpr std::string_view kVersion4 = R"sql(
ALTER TABLE item_stories ADD COLUMN story_time INTEGER NOT NULL DEFAULT 0;
UPDATE item_stories SET story_time = (
  SELECT CASE WHEN i.published_estimated = 1 AND i.updated IS NOT NULL
                   AND i.updated <= i.first_seen THEN i.updated ELSE i.published END
  FROM items AS i WHERE i.id = item_stories.item_id);
DROP INDEX items_by_published;
CREATE INDEX item_stories_by_story_time ON item_stories (story_time);
)sql";

// Version 5: why each member is in its story (`stories --json`'s joined_by), kept by the story
// assigner whenever a member's story or its reason changes.
// - joined_by: dedup::JoinReason's name: 'founder' (it started the story), 'link' (its
//   likeliest pair inside the story), 'same_url' (that pair shares its link), 'merged_by_hand'
//   (`story merge`); '' not known (memberships stored before this version, until the daemon
//   clusters their story again, and links a `story split` or retention cut).
// - matched_item_id, matched_p: that pair's other member, always in the same story (no foreign
//   key: a split or retention clears it in the same transaction), and its P(same story) to
//   two decimals. The representative's last tie-breaker sums them (default_representative_sql).
constexpr std::string_view kVersion5 = R"sql(
ALTER TABLE item_stories ADD COLUMN joined_by TEXT NOT NULL DEFAULT '';
ALTER TABLE item_stories ADD COLUMN matched_item_id INTEGER;
ALTER TABLE item_stories ADD COLUMN matched_p REAL NOT NULL DEFAULT 0;
)sql";

constexpr std::array<std::string_view, 5> kMigrations = {kVersion1, kVersion2, kVersion3, kVersion4,
                                                         kVersion5};

static_assert(kApplicationId == 1179472455, "kVersion1 spells the application id in decimal");

Error schema_error(const std::string& path, const std::string& what) {
  return Error{ErrorKind::database, path + ": " + what};
}

int read_version(SQLite::Database& db) {
  return db.execAndGet("PRAGMA user_version").getInt();
}

}  // namespace

std::span<const std::string_view> migrations() {
  return kMigrations;
}

Result<int> check_schema(SQLite::Database& db, const std::string& path,
                         std::span<const std::string_view> migrations) {
  try {
    const int latest = static_cast<int>(migrations.size());
    const int version = read_version(db);
    const int application_id = db.execAndGet("PRAGMA application_id").getInt();
    if (application_id != 0 && application_id != kApplicationId) {
      return schema_error(path, "not a feedmerge database (its application_id is " +
                                    std::to_string(application_id) + "); refusing to touch it");
    }
    if (version > latest) {
      return schema_error(path, "database schema version " + std::to_string(version) +
                                    " is newer than this feedmerge supports (" +
                                    std::to_string(latest) + "); refusing to touch it");
    }
    if (application_id == 0) {
      const auto objects = db.execAndGet("SELECT count(*) FROM sqlite_schema").getInt64();
      if (version != 0 || objects != 0) {
        return schema_error(path,
                            "not a feedmerge database (it already holds other data); "
                            "refusing to touch it");
      }
    }
    return version;
  } catch (const std::exception& e) {
    return schema_error(path, e.what());
  }
}

Result<void> migrate(SQLite::Database& db, const std::string& path,
                     std::span<const std::string_view> migrations) {
  const int latest = static_cast<int>(migrations.size());
  int version = 0;
  try {
    for (;;) {
      SQLite::Transaction transaction(db, SQLite::TransactionBehavior::IMMEDIATE);
      version = read_version(db);
      if (version >= latest) break;  // the transaction rolls back: nothing was written
      db.exec(std::string(migrations[static_cast<std::size_t>(version)]));
      db.exec("PRAGMA user_version = " + std::to_string(version + 1));
      transaction.commit();
    }
    if (version > latest) {
      return schema_error(path, "database schema version " + std::to_string(version) +
                                    " is newer than this feedmerge supports (" +
                                    std::to_string(latest) + "); refusing to touch it");
    }
    return {};
  } catch (const std::exception& e) {
    return schema_error(path, "migrating the database schema from version " +
                                  std::to_string(version) + " to " + std::to_string(version + 1) +
                                  " failed: " + e.what());
  }
}

}  // namespace feedmerge::store::detail
