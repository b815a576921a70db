// The store: every feed's polling state, every item, the stories and their memberships, behind
// one abstract interface that the daemon's writer and the readers (publisher, CLI) share. SQLite
// and PostgreSQL implement it (open_sqlite, open_postgresql; src/store/sqlite_store.h,
// pg_store.h; open_store picks one by location), so the interface speaks in model values only.
// Threading: a Store is one connection and is not thread-safe. The daemon's single writer owns
// the one read_write Store; each reader opens its own read_only Store.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "feedmerge/error.h"
#include "feedmerge/model/feed.h"
#include "feedmerge/model/story.h"

namespace feedmerge::store {

using model::Time;

// The schema version this build reads and writes.
inline constexpr int kSchemaVersion = 5;

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

// An item as stored, with the story it belongs to when it has one.
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
  std::string feed_url;                  // the feed's, as configured
  std::optional<std::int64_t> story_id;  // nullopt until stories assigned it
  std::string relation;                  // to its story (dedup::Relation's name); "" without
  model::JoinedBy joined_by;             // why it is in its story (the assigner's index reads it)

  bool operator==(const StoredItem&) const = default;
};

// The time stories measure an item by (the dedup window; what a membership's story_time
// holds): its publication date, except that an estimated one (first_seen) gives way to the
// feed's update date when that is no later. Defined here, once: the store computes it for
// split(), the assigner for every candidate, the CLI's `why` for its report.
Time dedup_time(std::optional<Time> updated, Time stored_published, bool published_estimated,
                Time first_seen);
Time dedup_time(const StoredItem& item);

// --- story writes -------------------------------------------------------------------------
// One block of an assignment batch's writes. Stories the block creates come with the id the
// caller gave them (from StoryWriter::next_story_id()) and their final values, so that each is
// inserted once rather than inserted and then updated.
struct NewStory {
  std::int64_t id = 0;
  Time first_published{};
  std::optional<std::int64_t> representative;  // nullopt: the earliest member not a copy
};
struct Membership {
  std::int64_t item_id = 0;
  std::int64_t story_id = 0;
  std::string relation;
  std::string canonical_url;
  Time story_time{};  // dedup_time of the item (assigned_between loads by it)
  model::JoinedBy joined_by{};
};
// An existing story that gained members: first_published is lowered to `earliest` (the
// earliest member that joined since it was last written).
struct StoryTouch {
  std::int64_t story_id = 0;
  std::optional<std::int64_t> representative;  // nullopt: the earliest member not a copy
  Time earliest{};
};
// An item already in a story that clustering put into another one (two stories found to be
// one, or one found to be two), or that stayed but is there for another reason now.
struct MemberMove {
  std::int64_t item_id = 0;
  std::int64_t story_id = 0;
  std::string relation;
  model::JoinedBy joined_by{};
};
struct StoryWrites {
  std::vector<NewStory> created;
  std::vector<Membership> members;
  std::vector<MemberMove> moved;
  // Stories whose members all went into others: deleted (their ids are not used again).
  std::vector<std::int64_t> removed;
  // Stories that lost members: first_published is computed again from what they hold, and
  // so is the representative unless `touched` sets one the caller chose.
  std::vector<std::int64_t> recomputed;
  std::vector<StoryTouch> touched;
};

// What a story write decided from earlier reads rests on (daemon::StoryAssigner::settle reads
// and clusters before it opens its write transaction): the same inside the transaction, and no
// override, new story or membership came or went since the reads.
struct StoriesVersion {
  std::int64_t overrides = 0;   // Store::last_override_id()
  std::int64_t next_story = 0;  // StoryWriter::next_story_id()
  std::int64_t members = 0;     // memberships
  bool operator==(const StoriesVersion&) const = default;
};

// Writes of one assignment batch, inside one transaction (Store::write_stories). Errors are
// thrown (the implementation's own exceptions): write_stories turns them into its Result.
class StoryWriter {
 public:
  virtual ~StoryWriter() = default;
  // The first id no story has had (stories' ids are never reused); the caller numbers the
  // stories it creates from here, within this transaction.
  virtual std::int64_t next_story_id() = 0;
  // As of inside this transaction (Store::stories_version is the same outside one).
  virtual StoriesVersion stories_version() = 0;
  // Inserts `created`, then `members`, applies `moved`, deletes `removed`, then updates
  // `recomputed` and `touched`; every story written gets updated = now (created ones
  // first_seen = now too).
  virtual void apply(const StoryWrites& writes, Time now) = 0;
  // Several processes (store/cluster.h): the assigner's batches since its stories last
  // settled (daemon::StoryAssigner::settle) reach back to items published at `from`; nullopt:
  // settled now. Kept with the term, so that a successor settles what a dead assigner left.
  // SQLite ignores it: its one process keeps the mark in memory, and a restart's first batch
  // rebuilds the index from the store.
  virtual void note_unsettled(std::optional<Time> from) { (void)from; }
};

struct StoreCounts {
  std::int64_t items = 0;
  std::int64_t stories = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Where the data lives, for messages: a file's path, a server's name.
  virtual const std::string& location() const = 0;

  // --- feed state ---------------------------------------------------------------------------
  // The feed whose configured URL is `url`, created with empty state if missing. A feed stored
  // under another form of the same URL (equal normalize::feed_identity: "#frag", ":80",
  // "LOCALHOST.", "127.1") is that feed: its url becomes `url`, its items and state stay.
  Result<FeedState> ensure_feed(std::string_view url);
  // The same for every URL, in their order: one read of all feeds, and one transaction only
  // when some are new (a daemon's start with 1,000 feeds took 1,000 write transactions).
  virtual Result<std::vector<FeedState>> ensure_feeds(const std::vector<std::string>& urls) = 0;
  // The feed stored under `url`, else under another form of it (as ensure_feed; not renamed).
  virtual Result<std::optional<FeedState>> find_feed(std::string_view url) = 0;
  virtual Result<std::vector<FeedState>> list_feeds() = 0;  // in the order first configured

  // The scheduler's next poll of each feed (id, time), in one transaction, without touching
  // the rest of its state: `feeds`, another process, shows when a feed not yet polled will be.
  virtual Result<void> schedule_polls(const std::vector<std::pair<std::int64_t, Time>>& polls) = 0;

  // --- items --------------------------------------------------------------------------------
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
  virtual Result<StoreResult> record_poll(const FeedState& state, const model::Feed* parsed,
                                          Time now) = 0;

  // By id: first stored first.
  virtual Result<std::vector<StoredItem>> items_of_feed(std::int64_t feed_id) = 0;
  virtual Result<std::int64_t> count_items() = 0;
  // Whether item `id` is still the item stored under `key`: a removed item's id may go to the
  // next item stored.
  virtual Result<bool> holds_item(std::int64_t id, const std::string& key) = 0;

  // --- stories and memberships --------------------------------------------------------------
  // The items with these ids that still exist, in the order asked.
  virtual Result<std::vector<StoredItem>> items_by_id(const std::vector<std::int64_t>& ids) = 0;
  // Items already in a story, with a story_time in [from, to), by story_time.
  virtual Result<std::vector<StoredItem>> assigned_between(Time from, Time to) = 0;
  // Items without a story, by publication time.
  virtual Result<std::vector<std::int64_t>> unassigned_item_ids() = 0;
  virtual Result<std::optional<Time>> newest_assigned_publication() = 0;
  virtual Result<std::vector<StoredItem>> items_with_link(const std::string& link) = 0;

  // Whether write_stories has the store check the references it writes.
  enum class ForeignKeys {
    check,
    // The caller vouches for every story and item it names, as of inside the transaction
    // (StoryAssigner). Checking each one reads the item's page: most of the SQL time of a
    // first poll's 30,000 memberships. A backend may check anyway.
    trust,
  };
  // Runs `body` in one write transaction; rolls back when it throws or returns an error.
  virtual Result<void> write_stories(const std::function<Result<void>(StoryWriter&)>& body,
                                     ForeignKeys keys = ForeignKeys::check) = 0;
  // Several processes on one database (store/cluster.h): from now on write_stories writes only
  // under the story assigner's term `term`, while that term's session still holds the
  // assigner lock (checked inside the batch's transaction, after the story write lock), and
  // fails otherwise; nullopt lifts the fence. SQLite (one process per file) ignores it.
  virtual void fence_story_writes(std::optional<std::int64_t> term) { (void)term; }
  // The oldest publication any assigner placed an item at since the stories last settled
  // (StoryWriter::note_unsettled); nullopt when settled, and always on SQLite.
  virtual Result<std::optional<Time>> unsettled_from() { return std::optional<Time>(); }

  // Stories whose `updated` is at or after `since` (all when nullopt), most recently updated
  // first (ties: higher id first), each with its members (model::Story's order).
  virtual Result<std::vector<model::Story>> list_stories(std::optional<Time> since) = 0;
  // The `limit` stories published last (first_published, newest first; ties by id), that
  // have at least one member from a feed in `feed_urls` (nullptr: any feed). One consistent
  // read, however the writer commits meanwhile.
  virtual Result<std::vector<model::Story>> latest(const std::vector<std::string>* feed_urls,
                                                   int limit) = 0;
  virtual Result<StoreCounts> counts() = 0;

  // Overrides. merge: every member of `from` moves to `into` (joined_by "merged_by_hand"),
  // `from` is deleted. split: the item leaves its story for a new one of its own (returned;
  // its founder), and the members that were there by a link to it lose that link (joined_by
  // "", until the daemon clusters the story again). Both are recorded, and
  // last_override_id() grows with each: a writer that sees it change rebuilds what it knows.
  virtual Result<void> merge(std::int64_t into, std::int64_t from, Time now) = 0;
  virtual Result<std::int64_t> split(std::int64_t item_id, Time now) = 0;
  virtual Result<std::int64_t> last_override_id() = 0;
  // One consistent read of StoriesVersion, outside write_stories.
  virtual Result<StoriesVersion> stories_version() = 0;
  // Deletes stories left without members (after retention), refreshes representatives
  // that retention removed and clears the links (joined_by) to removed members.
  virtual Result<int> drop_empty_stories() = 0;

  // --- retention ----------------------------------------------------------------------------
  // Measured from when an item was first stored, in one transaction: removes items stored
  // more than `retention` before `now` (retention <= 0: no age limit), then, per feed, all but
  // the newest `max_items_per_feed` by first_seen, ties broken by publication date (0: no
  // limit). Returns the number of items removed.
  //
  // Every removed item leaves a tombstone (feed, key): a feed that still lists an item older
  // than the retention must not have it stored again and published as new. A tombstone
  // lives while the feed keeps listing its key and is dropped once no poll has seen the key
  // for max(retention, 30 days); only after that could the same key come back as new.
  virtual Result<int> prune(std::chrono::seconds retention, std::int64_t max_items_per_feed,
                            Time now) = 0;

  // --- the storage's health (the writer calls these; a server backend may make them no-ops)
  // Whether the storage this connection writes to is still the one it opened. SQLite: the
  // database file and its -wal are still the files at their paths (same inode): once one is
  // deleted or replaced, every later write goes to a file nobody can open again. The error
  // says what went. A server backend: {} (the server keeps its own files).
  virtual Result<void> check_files() = 0;
  // Moves what the store has only logged into its main storage. SQLite: a WAL checkpoint
  // (truncate: also empties the -wal); an error when the database file cannot take the pages
  // (a full disk, an I/O error). A server backend: {} (the server checkpoints itself).
  virtual Result<void> checkpoint(bool truncate = false) = 0;
  // A quick integrity check: an error carrying the first findings when the data is corrupt.
  // SQLite: PRAGMA quick_check. A server backend: {} or its own cheap check.
  virtual Result<void> quick_check() = 0;

 protected:
  Store() = default;
};

// Opens (read_write: creates) the SQLite database at `path`; the caller creates its folder.
// read_write switches the file to WAL, sets synchronous=NORMAL and foreign keys, and brings
// the schema to kSchemaVersion, one transaction per migration step. A file from a newer
// feedmerge, or one that is not a feedmerge database, is refused before anything is written:
// "PATH: database schema version N is newer than this feedmerge supports (M); refusing to
// touch it". read_only needs the file at exactly kSchemaVersion. Every error message starts
// with the path.
Result<std::unique_ptr<Store>> open_sqlite(const std::string& path,
                                           OpenMode mode = OpenMode::read_write);

// Opens the PostgreSQL database at `url` ("postgresql://user@host/db", any libpq URI). Its
// own schema (versioned in the table schema_version), migrated as open_sqlite migrates the
// file: read_write creates and upgrades it, one transaction per step; a newer schema, or a
// database holding other tables, is refused. read_only needs exactly this build's version
// and makes every transaction of the connection read-only. Messages start with the URL, its
// password replaced by "***".
Result<std::unique_ptr<Store>> open_postgresql(const std::string& url,
                                               OpenMode mode = OpenMode::read_write);

// Whether `location` names a PostgreSQL database ("postgresql://..." or "postgres://...").
bool is_postgresql_url(std::string_view location);

// The store at `location`: a PostgreSQL URL (open_postgresql), else a SQLite file's path,
// optionally written "sqlite:PATH" (open_sqlite). How a config names its store:
// daemon::store_location.
Result<std::unique_ptr<Store>> open_store(const std::string& location,
                                          OpenMode mode = OpenMode::read_write);

}  // namespace feedmerge::store
