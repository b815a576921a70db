// The store: every feed's polling state and every item, in one SQLite file (WAL). Start here
// for persistence; the schema and its migrations live in src/store/schema.cpp.
// Threading: a Store is one connection and is not thread-safe. The daemon's single writer (a
// strand or thread) owns the one read_write Store; readers (CLI commands, publisher rebuilds)
// open their own read_only Store, which WAL lets run alongside the writer.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "feedmerge/error.h"
#include "feedmerge/model/feed.h"

namespace feedmerge::store {

using model::Time;

// The schema version this build reads and writes (PRAGMA user_version).
inline constexpr int kSchemaVersion = 4;

enum class OpenMode {
  read_write,  // creates the file if missing and migrates it; the daemon's writer
  read_only,   // the file must exist at exactly kSchemaVersion; never writes
};

// What the store remembers about one configured feed between polls and across restarts.
struct FeedState {
  std::int64_t id = 0;
  std::string url;        // as configured: the feed's identity, never rewritten
  std::string fetch_url;  // set once a permanent redirect has held; "" = fetch `url`
  std::string title;      // the feed's own, from the last parsed document (store-maintained)
  std::string link;       // its home page, from the last parsed document (store-maintained)
  // Conditional-request state.
  std::string etag;
  std::string last_modified;
  std::string body_hash;  // of the last body, to skip parsing an unchanged one without ETag
  // Scheduling.
  std::optional<Time> next_poll;
  std::optional<std::chrono::seconds> interval;  // the adapted interval
  std::optional<Time> last_attempt;
  std::optional<Time> last_success;
  int consecutive_failures = 0;
  // When the current run of failures began; nullopt while the feed works. Store-maintained:
  // record_poll sets it on the first failure and clears it on a success, so `feeds` can call a
  // feed that has failed for days broken.
  std::optional<Time> failing_since;
  int last_status = 0;     // last HTTP status; 0 when the last attempt got no HTTP response
  std::string last_error;  // "" after a success
  bool disabled = false;   // e.g. 410 Gone; the scheduler skips the feed
  std::string disabled_reason;
  // A permanent redirect seen but not yet trusted: its target and how many polls in a row
  // have seen it.
  std::string pending_redirect;
  int pending_redirect_polls = 0;
  // Read-only: items stored for this feed, filled by every read; ignored by record_poll.
  std::int64_t item_count = 0;

  bool operator==(const FeedState&) const = default;
};

// The URL a poll should request.
inline const std::string& url_to_fetch(const FeedState& feed) {
  return feed.fetch_url.empty() ? feed.url : feed.fetch_url;
}

// An item record_poll inserted, as stored: what stories need of it without reading it back.
struct NewItem {
  std::int64_t id = 0;
  std::size_t index = 0;  // its position in the document's items
  std::string key;        // see StoredItem::key
  Time published;         // as stored (see StoredItem)
  bool published_estimated = false;
  Time first_seen;

  bool operator==(const NewItem&) const = default;
};

// What one record_poll did to the items of the document.
struct StoreResult {
  int inserted = 0;
  int updated = 0;    // same key, new content hash: rewritten in place, changed_at = now
  int unchanged = 0;  // same key, same content hash: not written
  int pruned = 0;     // still listed by the feed, but retention removed them: not stored again
  std::vector<Warning> warnings;   // future dates clamped, keys repeated within the document
  std::vector<NewItem> new_items;  // in document order
  std::vector<std::int64_t> updated_item_ids;

  bool operator==(const StoreResult&) const = default;
};

struct StoredItem {
  std::int64_t id = 0;
  std::int64_t feed_id = 0;
  std::string key;  // the item's id, else its link, else "hash:..." (see record_poll)
  // As stored. item.published is always set: the feed's date, or first_seen when the feed
  // gave none or gave one more than a day in the future (then published_estimated is true).
  model::Item item;
  Time first_seen;
  std::optional<Time> changed_at;  // when a changed content hash last rewrote the item
  bool published_estimated = false;

  bool operator==(const StoredItem&) const = default;
};

class Store {
 public:
  // Opens (read_write: creates) the database at `path`; the caller creates its folder.
  // read_write switches the file to WAL, sets synchronous=NORMAL and foreign keys, and brings
  // the schema to kSchemaVersion, one transaction per migration step. A file from a newer
  // feedmerge, or one that is not a feedmerge database, is refused before anything is
  // written: "PATH: database schema version N is newer than this feedmerge supports (M);
  // refusing to touch it". Every error message starts with the path.
  static Result<std::unique_ptr<Store>> open(const std::string& path,
                                             OpenMode mode = OpenMode::read_write);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const;

  // The feed whose configured URL is `url`, created with empty state if missing. A feed stored
  // under another form of the same URL (equal normalize::feed_identity: "#frag", ":80",
  // "LOCALHOST.", "127.1") is that feed: its url becomes `url`, its items and state stay.
  Result<FeedState> ensure_feed(std::string_view url);
  // The same for every URL, in their order: one read of all feeds, and one transaction only
  // when some are new (a daemon's start with 1,000 feeds took 1,000 write transactions).
  Result<std::vector<FeedState>> ensure_feeds(const std::vector<std::string>& urls);
  // The feed stored under `url`, else under another form of it (as ensure_feed; not renamed).
  Result<std::optional<FeedState>> find_feed(std::string_view url);
  Result<std::vector<FeedState>> list_feeds();  // by id, i.e. in the order first configured

  // Records one poll of the feed `state.id` in one transaction: writes every field of `state`
  // (except the store-maintained ones) and, when `parsed` is given, the document's title and
  // link and every item:
  // - key: the item's id, else its link, else "hash:" + XXH3-64 of its title, summary,
  //   content and date. Keys repeated in the document: the first wins, with a warning.
  // - new key: inserted with first_seen = now; a missing date becomes now, and so does any
  //   date after now (it would pin the item at the top of the merged feeds), with a warning
  //   when more than 5 minutes ahead ("item KEY: publication date 2031-01-01T00:00:00Z is in
  //   the future; using the time it was first stored").
  // - known key, same content hash: untouched; changed hash: rewritten in place (first_seen
  //   and id kept), changed_at = now, dates handled as above against the stored first_seen.
  // - key that retention removed (see prune): not stored again, counted as `pruned`.
  // On error nothing of the poll is written.
  Result<StoreResult> record_poll(const FeedState& state, const model::Feed* parsed, Time now);

  // The scheduler's next poll of each feed (id, time), in one transaction, without touching
  // the rest of its state: `feeds`, another process, shows when a feed not yet polled will be.
  Result<void> schedule_polls(const std::vector<std::pair<std::int64_t, Time>>& polls);

  Result<std::vector<StoredItem>> items_of_feed(std::int64_t feed_id);  // by id: first stored first
  Result<std::int64_t> count_items();
  // Whether row `id` still holds the item stored under `key`: a removed item's row id goes to
  // the next item stored.
  Result<bool> holds_item(std::int64_t id, const std::string& key);

  // Retention, measured from when an item was first stored, in one transaction:
  // removes items stored more than `retention` before `now` (retention <= 0: no age limit),
  // then, per feed, all but the newest `max_items_per_feed` by first_seen, ties broken by
  // publication date (0: no limit). Returns the number of items removed.
  //
  // Every removed item leaves a tombstone (feed, key): a feed that still lists an item older
  // than the retention must not have it stored again and published as new. A tombstone
  // lives while the feed keeps listing its key and is dropped once no poll has seen the key
  // for max(retention, 30 days); only after that could the same key come back as new.
  Result<int> prune(std::chrono::seconds retention, std::int64_t max_items_per_feed, Time now);

  // --- the health of the files (read_write) -------------------------------------------------
  // Whether the database file and its -wal are still the files this connection opened (same
  // inode at the same path): once one is deleted or replaced, every later write goes to a
  // file nobody can open again, and is lost at exit. The error says which file went.
  Result<void> check_files();
  // A WAL checkpoint (truncate: also empties the -wal). An error when the database file cannot
  // take the pages (a full disk, an I/O error). After the -wal was deleted, a truncating
  // checkpoint still moves what it held into the database file, through the open descriptor.
  Result<void> checkpoint(bool truncate = false);
  // PRAGMA quick_check: an error carrying SQLite's first findings when the file is corrupt.
  Result<void> quick_check();

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace feedmerge::store
