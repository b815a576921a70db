#include "feedmerge/store/store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>

#include <algorithm>
#include <bit>
#include <filesystem>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "feedmerge/normalize/date.h"
#include "feedmerge/normalize/url.h"
#include "store/connection.h"
#include "store/item_codec.h"
#include "store/schema.h"

namespace feedmerge::store {
namespace {

// A date after the poll is never used as it is: it would pin the item at the top of every
// merged feed until that time. Clocks a few minutes fast are common and not worth a warning.
constexpr std::chrono::minutes kClockSkew{5};
// A tombstone outlives retention by at least this long once its key leaves the document.
constexpr std::chrono::seconds kMinTombstoneLife = std::chrono::days{30};
// last_seen only needs day precision; refreshing it on every poll would write on every poll.
constexpr std::chrono::hours kTombstoneTouchEvery{24};

std::int64_t to_db(Time time) {
  return static_cast<std::int64_t>(time.time_since_epoch().count());
}
Time from_db(std::int64_t seconds) {
  return Time{std::chrono::seconds{seconds}};
}

std::optional<Time> optional_time(const SQLite::Column& column) {
  if (column.isNull()) return std::nullopt;
  return from_db(column.getInt64());
}

// A prepared statement borrowed for one use: bindings cleared before, reset after, so that
// an exception half-way through never leaves it holding a read lock or stale values.
class Use {
 public:
  explicit Use(SQLite::Statement& statement) : statement_(statement) {
    statement_.reset();
    statement_.clearBindings();
  }
  // Bindings cleared here too: bind_view's pointers must not outlive the call.
  ~Use() {
    statement_.tryReset();
    statement_.clearBindings();
  }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;

  SQLite::Statement* operator->() { return &statement_; }
  SQLite::Statement& operator*() { return statement_; }

  void bind(const char* name, const std::string& text) { statement_.bind(name, text); }
  void bind(const char* name, std::int64_t value) { statement_.bind(name, value); }
  void bind(const char* name, int value) { statement_.bind(name, value); }
  // Not copied (an item's text is most of what a poll stores): `text` must stay alive and
  // unchanged until the statement has run.
  void bind_view(const char* name, const std::string& text) { statement_.bindNoCopy(name, text); }
  void bind(const char* name, bool value) { statement_.bind(name, value ? 1 : 0); }
  void bind(const char* name, std::optional<Time> time) {
    if (time) {
      statement_.bind(name, to_db(*time));
    } else {
      statement_.bind(name);
    }
  }

 private:
  SQLite::Statement& statement_;
};

constexpr const char* kFeedColumns =
    "f.id, f.url, f.fetch_url, f.title, f.link, f.etag, f.last_modified, f.body_hash, "
    "f.next_poll, f.interval_seconds, f.last_attempt, f.last_success, f.consecutive_failures, "
    "f.failing_since, f.last_status, f.last_error, f.disabled, f.disabled_reason, "
    "f.pending_redirect, f.pending_redirect_polls, "
    "(SELECT count(*) FROM items AS i WHERE i.feed_id = f.id)";

FeedState read_feed(const SQLite::Statement& row) {
  FeedState feed;
  feed.id = row.getColumn(0).getInt64();
  feed.url = row.getColumn(1).getString();
  feed.fetch_url = row.getColumn(2).getString();
  feed.title = row.getColumn(3).getString();
  feed.link = row.getColumn(4).getString();
  feed.etag = row.getColumn(5).getString();
  feed.last_modified = row.getColumn(6).getString();
  feed.body_hash = row.getColumn(7).getString();
  feed.next_poll = optional_time(row.getColumn(8));
  if (!row.getColumn(9).isNull()) feed.interval = std::chrono::seconds{row.getColumn(9).getInt64()};
  feed.last_attempt = optional_time(row.getColumn(10));
  feed.last_success = optional_time(row.getColumn(11));
  feed.consecutive_failures = row.getColumn(12).getInt();
  feed.failing_since = optional_time(row.getColumn(13));
  feed.last_status = row.getColumn(14).getInt();
  feed.last_error = row.getColumn(15).getString();
  feed.disabled = row.getColumn(16).getInt() != 0;
  feed.disabled_reason = row.getColumn(17).getString();
  feed.pending_redirect = row.getColumn(18).getString();
  feed.pending_redirect_polls = row.getColumn(19).getInt();
  feed.item_count = row.getColumn(20).getInt64();
  return feed;
}

// read_item's columns: id, feed_id, key, then detail::kItemFields from column 3, then these.
constexpr std::string_view kItemTail = "i.published_estimated, i.first_seen, i.changed_at";

// The named parameters insert_item and update_item share.
constexpr const char* kItemValues =
    ":guid, :title, :link, :summary, :content, :authors, :categories, :image, :enclosures, "
    ":published, :published_estimated, :updated, :content_hash";

// Items ranked newest first within their feed; ties in first_seen (one poll) go to the later
// publication date, then to document order, where feeds put their newest items first.
constexpr const char* kExcessItems =
    "SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY feed_id "
    "ORDER BY first_seen DESC, published DESC, id ASC) AS newness FROM items) "
    "WHERE newness > :max_items";

std::string sql(std::initializer_list<std::string_view> parts) {
  std::string text;
  for (auto part : parts)
    text += part;
  return text;
}

struct Dating {
  Time published;
  bool estimated = false;
};

// The date an item is stored with; see record_poll in the header.
Dating date_item(const model::Item& item, const std::string& key, Time first_seen, Time now,
                 std::vector<Warning>& warnings) {
  if (!item.published) return {first_seen, true};
  if (*item.published > now) {
    if (*item.published > now + kClockSkew) {
      warnings.push_back({0, "item " + key + ": publication date " +
                                 normalize::format_rfc3339(*item.published) +
                                 " is in the future; using the time it was first stored"});
    }
    return {first_seen, true};
  }
  return {*item.published, false};
}

}  // namespace

struct Store::Impl {
  Impl(std::string path_in, SQLite::Database db_in)
      : path(std::move(path_in)),
        db(std::move(db_in)),
        find_feed(db, sql({"SELECT ", kFeedColumns, " FROM feeds AS f WHERE f.url = :url"})),
        insert_feed(db, "INSERT INTO feeds (url) VALUES (:url) ON CONFLICT (url) DO NOTHING"),
        list_feeds(db, sql({"SELECT ", kFeedColumns, " FROM feeds AS f ORDER BY f.id"})),
        update_feed(db,
                    "UPDATE feeds SET fetch_url = :fetch_url, etag = :etag, "
                    "last_modified = :last_modified, body_hash = :body_hash, "
                    "next_poll = :next_poll, interval_seconds = :interval, "
                    "last_attempt = :last_attempt, last_success = :last_success, "
                    "consecutive_failures = :failures, failing_since = CASE WHEN :failures = 0 "
                    "THEN NULL ELSE coalesce(failing_since, :now) END, "
                    "last_status = :last_status, last_error = :last_error, "
                    "disabled = :disabled, disabled_reason = :disabled_reason, "
                    "pending_redirect = :pending_redirect, "
                    "pending_redirect_polls = :pending_redirect_polls, "
                    "title = CASE WHEN :has_document THEN :title ELSE title END, "
                    "link = CASE WHEN :has_document THEN :link ELSE link END "
                    "WHERE id = :id"),
        find_item(db,
                  "SELECT id, content_hash, first_seen FROM items "
                  "WHERE feed_id = :feed_id AND key = :key"),
        insert_item(db, sql({"INSERT INTO items (feed_id, key, first_seen, guid, title, link, "
                             "summary, content, authors, categories, image, enclosures, "
                             "published, published_estimated, updated, content_hash) "
                             "VALUES (:feed_id, :key, :first_seen, ",
                             kItemValues, ")"})),
        update_item(db,
                    "UPDATE items SET (guid, title, link, summary, content, authors, "
                    "categories, image, enclosures, published, published_estimated, updated, "
                    "content_hash, changed_at) = (" +
                        std::string(kItemValues) + ", :now) WHERE id = :id"),
        find_tombstone(db,
                       "SELECT last_seen FROM tombstones WHERE feed_id = :feed_id AND key = :key"),
        touch_tombstone(db,
                        "UPDATE tombstones SET last_seen = :now "
                        "WHERE feed_id = :feed_id AND key = :key"),
        items_of_feed(db,
                      sql({"SELECT i.id, i.feed_id, i.key, ", detail::kItemFields, ", ", kItemTail,
                           " FROM items AS i WHERE i.feed_id = :feed_id ORDER BY i.id"})),
        count_items(db, "SELECT count(*) FROM items"),
        item_has_key(db, "SELECT 1 FROM items WHERE id = :id AND key = :key"),
        bury_old(db,
                 "INSERT OR REPLACE INTO tombstones (feed_id, key, removed_at, last_seen) "
                 "SELECT feed_id, key, :now, :now FROM items WHERE first_seen < :cutoff"),
        delete_old(db, "DELETE FROM items WHERE first_seen < :cutoff"),
        bury_excess(db, sql({"INSERT OR REPLACE INTO tombstones (feed_id, key, removed_at, "
                             "last_seen) SELECT feed_id, key, :now, :now FROM items "
                             "WHERE id IN (",
                             kExcessItems, ")"})),
        delete_excess(db, sql({"DELETE FROM items WHERE id IN (", kExcessItems, ")"})),
        any_feed_over(db,
                      "SELECT EXISTS (SELECT 1 FROM items GROUP BY feed_id "
                      "HAVING count(*) > :max_items)"),
        expire_tombstones(db, "DELETE FROM tombstones WHERE last_seen < :cutoff") {}

  Error error(const std::exception& e) const {
    std::string message = path + ": " + e.what();
    // The two failures an operator can fix say what to do about them.
    if (const auto* sqlite = dynamic_cast<const SQLite::Exception*>(&e)) {
      if (sqlite->getErrorCode() == SQLITE_BUSY) {
        message += " (another process held it for more than " +
                   std::to_string(detail::kBusyTimeoutMs / 1000) +
                   " s; nothing of this write was stored)";
      } else if (sqlite->getErrorCode() == SQLITE_FULL) {
        message += " (the disk is full; nothing of this write was stored, earlier data is intact)";
      }
    }
    return Error{ErrorKind::database, std::move(message)};
  }
  Error error(std::string_view what) const {
    return Error{ErrorKind::database, path + ": " + std::string(what)};
  }

  // SQLiteCpp reports failures as exceptions; the store reports them as values.
  template <class Function>
  auto guarded(Function&& function) -> decltype(function()) {
    try {
      return function();
    } catch (const std::exception& e) {
      return error(e);
    }
  }

  Result<void> write_feed(const FeedState& state, const model::Feed* parsed, Time now);
  void write_item(std::int64_t feed_id, const model::Item& item, std::size_t index, Time now,
                  std::unordered_set<std::string>& keys_seen, StoreResult& result);
  Result<StoredItem> read_item(const SQLite::Statement& row) const;

  // Which file is which: the inode behind a path.
  struct FileId {
    dev_t device = 0;
    ino_t inode = 0;
    bool operator==(const FileId&) const = default;
  };
  static std::optional<FileId> identify(const std::string& file) {
    struct stat status {};
    if (::stat(file.c_str(), &status) != 0) return std::nullopt;
    return FileId{status.st_dev, status.st_ino};
  }

  std::string path;
  SQLite::Database db;
  // read_write: the files as opened; the -wal's from when it first existed.
  std::optional<FileId> db_file;
  std::optional<FileId> wal_file;
  SQLite::Statement find_feed;
  SQLite::Statement insert_feed;
  SQLite::Statement list_feeds;
  SQLite::Statement update_feed;
  SQLite::Statement find_item;
  SQLite::Statement insert_item;
  SQLite::Statement update_item;
  SQLite::Statement find_tombstone;
  SQLite::Statement touch_tombstone;
  SQLite::Statement items_of_feed;
  SQLite::Statement count_items;
  SQLite::Statement item_has_key;
  SQLite::Statement bury_old;
  SQLite::Statement delete_old;
  SQLite::Statement bury_excess;
  SQLite::Statement delete_excess;
  SQLite::Statement any_feed_over;
  SQLite::Statement expire_tombstones;
};

namespace {

void bind_item_values(Use& statement, const model::Item& item, const Dating& dating,
                      std::uint64_t hash) {
  statement.bind_view(":guid", item.id);
  statement.bind_view(":title", item.title);
  statement.bind_view(":link", item.link);
  statement.bind_view(":summary", item.summary);
  statement.bind_view(":content", item.content);
  statement.bind(":authors", detail::strings_to_json(item.authors));
  statement.bind(":categories", detail::strings_to_json(item.categories));
  statement.bind_view(":image", item.image);
  statement.bind(":enclosures", detail::enclosures_to_json(item.enclosures));
  statement.bind(":published", std::optional<Time>(dating.published));
  statement.bind(":published_estimated", dating.estimated);
  statement.bind(":updated", item.updated);
  statement.bind(":content_hash", std::bit_cast<std::int64_t>(hash));
}

}  // namespace

Result<void> Store::Impl::write_feed(const FeedState& state, const model::Feed* parsed, Time now) {
  Use update(update_feed);
  update.bind(":id", state.id);
  update.bind(":fetch_url", state.fetch_url);
  update.bind(":etag", state.etag);
  update.bind(":last_modified", state.last_modified);
  update.bind(":body_hash", state.body_hash);
  update.bind(":next_poll", state.next_poll);
  if (state.interval) update.bind(":interval", static_cast<std::int64_t>(state.interval->count()));
  update.bind(":last_attempt", state.last_attempt);
  update.bind(":last_success", state.last_success);
  update.bind(":failures", state.consecutive_failures);
  update.bind(":now", std::optional<Time>(now));
  update.bind(":last_status", state.last_status);
  update.bind(":last_error", state.last_error);
  update.bind(":disabled", state.disabled);
  update.bind(":disabled_reason", state.disabled_reason);
  update.bind(":pending_redirect", state.pending_redirect);
  update.bind(":pending_redirect_polls", state.pending_redirect_polls);
  update.bind(":has_document", parsed != nullptr);
  update.bind(":title", parsed != nullptr ? parsed->title : std::string());
  update.bind(":link", parsed != nullptr ? parsed->link : std::string());
  if (update->exec() != 1) return error("no feed with id " + std::to_string(state.id));
  return {};
}

void Store::Impl::write_item(std::int64_t feed_id, const model::Item& item, std::size_t index,
                             Time now, std::unordered_set<std::string>& keys_seen,
                             StoreResult& result) {
  std::string key = detail::item_key(item);
  if (!keys_seen.insert(key).second) {
    result.warnings.push_back(
        {0, "item " + key + " appears more than once in the document; keeping the first"});
    return;
  }
  const std::uint64_t hash = detail::content_hash(item);

  std::optional<std::int64_t> id;
  std::uint64_t stored_hash = 0;
  Time first_seen = now;
  {
    Use find(find_item);
    find.bind(":feed_id", feed_id);
    find.bind(":key", key);
    if (find->executeStep()) {
      id = find->getColumn(0).getInt64();
      stored_hash = std::bit_cast<std::uint64_t>(find->getColumn(1).getInt64());
      first_seen = from_db(find->getColumn(2).getInt64());
    }
  }

  if (id) {
    if (stored_hash == hash) {
      ++result.unchanged;
      return;
    }
    Use update(update_item);
    bind_item_values(update, item, date_item(item, key, first_seen, now, result.warnings), hash);
    update.bind(":now", std::optional<Time>(now));
    update.bind(":id", *id);
    update->exec();
    ++result.updated;
    result.updated_item_ids.push_back(*id);
    return;
  }

  {
    Use find(find_tombstone);
    find.bind(":feed_id", feed_id);
    find.bind(":key", key);
    if (find->executeStep()) {
      const Time last_seen = from_db(find->getColumn(0).getInt64());
      find->reset();
      if (now - last_seen >= kTombstoneTouchEvery) {
        Use touch(touch_tombstone);
        touch.bind(":now", std::optional<Time>(now));
        touch.bind(":feed_id", feed_id);
        touch.bind(":key", key);
        touch->exec();
      }
      ++result.pruned;
      return;
    }
  }

  Use insert(insert_item);
  const Dating dating = date_item(item, key, now, now, result.warnings);
  bind_item_values(insert, item, dating, hash);
  insert.bind(":feed_id", feed_id);
  insert.bind(":key", key);
  insert.bind(":first_seen", std::optional<Time>(now));
  insert->exec();
  ++result.inserted;
  result.new_items.push_back({.id = db.getLastInsertRowid(),
                              .index = index,
                              .key = std::move(key),
                              .published = dating.published,
                              .published_estimated = dating.estimated,
                              .first_seen = now});
}

Result<StoredItem> Store::Impl::read_item(const SQLite::Statement& row) const {
  StoredItem stored;
  stored.id = row.getColumn(0).getInt64();
  stored.feed_id = row.getColumn(1).getInt64();
  stored.key = row.getColumn(2).getString();
  auto item = detail::item_from_row(row, 3);
  if (!item) return error(item.error().message);
  stored.item = std::move(*item);
  constexpr int tail = 3 + detail::kItemFieldCount;
  stored.published_estimated = row.getColumn(tail).getInt() != 0;
  stored.first_seen = from_db(row.getColumn(tail + 1).getInt64());
  stored.changed_at = optional_time(row.getColumn(tail + 2));
  return stored;
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

const std::string& Store::path() const {
  return impl_->path;
}

Result<std::unique_ptr<Store>> Store::open(const std::string& path, OpenMode mode) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (mode == OpenMode::read_only) {
    if (!fs::exists(path, ec)) {
      return Error{ErrorKind::database,
                   path + ": no database here (the daemon creates it when it first starts)"};
    }
  } else {
    const fs::path folder = fs::path(path).parent_path();
    if (!folder.empty() && !fs::is_directory(folder, ec)) {
      return Error{ErrorKind::database, path + ": cannot create the database: folder " +
                                            folder.string() + " does not exist"};
    }
  }

  try {
    const int flags = mode == OpenMode::read_only ? SQLite::OPEN_READONLY
                                                  : SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE;
    SQLite::Database db = detail::open_connection(path, flags);
    const auto steps = detail::migrations();
    if (steps.size() != static_cast<std::size_t>(kSchemaVersion)) {
      return Error{ErrorKind::database, "kSchemaVersion does not match the migration list"};
    }
    // Nothing may be written before this check: a newer feedmerge's file stays untouched.
    auto version = detail::check_schema(db, path, steps);
    if (!version) return version.error();

    if (mode == OpenMode::read_only) {
      if (*version != kSchemaVersion) {
        return Error{ErrorKind::database,
                     path + ": database schema version " + std::to_string(*version) +
                         " is older than this feedmerge reads (" + std::to_string(kSchemaVersion) +
                         "); start the daemon once to upgrade it"};
      }
    } else {
      // journal_mode is stored in the file, so readers that cannot set it still get WAL.
      const std::string journal = db.execAndGet("PRAGMA journal_mode = WAL").getString();
      if (journal != "wal") {
        return Error{
            ErrorKind::database,
            path + ": cannot switch the database to WAL (journal_mode is " + journal + ")"};
      }
      // NORMAL under WAL loses at most the last transactions on power loss, never integrity.
      db.exec("PRAGMA synchronous = NORMAL");
      // Migrations run with foreign keys off (SQLite's default), as its table rebuilds need.
      if (auto migrated = detail::migrate(db, path, steps); !migrated) return migrated.error();
      db.exec("PRAGMA foreign_keys = ON");
    }
    auto impl = std::make_unique<Impl>(path, std::move(db));
    if (mode == OpenMode::read_write) {
      impl->db_file = Impl::identify(path);
      impl->wal_file = Impl::identify(path + "-wal");
    }
    return std::unique_ptr<Store>(new Store(std::move(impl)));
  } catch (const std::exception& e) {
    return Error{ErrorKind::database, path + ": " + e.what()};
  }
}

Result<FeedState> Store::ensure_feed(std::string_view url) {
  auto feeds = ensure_feeds({std::string(url)});
  if (!feeds) return feeds.error();
  return std::move(feeds->front());
}

Result<std::vector<FeedState>> Store::ensure_feeds(const std::vector<std::string>& urls) {
  return impl_->guarded([&]() -> Result<std::vector<FeedState>> {
    auto known = list_feeds();
    if (!known) return known.error();
    std::unordered_map<std::string_view, const FeedState*> by_url;
    auto index = [&] {
      by_url.clear();
      for (const FeedState& feed : *known)
        by_url.emplace(feed.url, &feed);
    };
    index();
    if (std::any_of(urls.begin(), urls.end(),
                    [&](const auto& url) { return !by_url.contains(url); })) {
      // A URL written in another form of a stored feed's (normalize::feed_identity: "#frag",
      // ":80", "127.1"...) is that feed: its row takes the URL as now configured, which
      // readers match outputs and health by, and keeps its items and state. The first stored
      // row wins when an older build stored one feed twice.
      std::unordered_map<std::string, const FeedState*> by_identity;
      std::unordered_set<std::string_view> wanted(urls.begin(), urls.end());
      for (const FeedState& feed : *known) {
        if (!wanted.contains(feed.url))
          by_identity.try_emplace(normalize::feed_identity(feed.url), &feed);
      }
      SQLite::Transaction transaction(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
      for (const std::string& url : urls) {
        if (by_url.contains(url)) continue;
        const auto same = by_identity.find(normalize::feed_identity(url));
        if (same != by_identity.end() && same->second != nullptr) {
          // Rare (a config edit), so not worth a statement prepared for every open.
          SQLite::Statement rename(impl_->db, "UPDATE feeds SET url = :url WHERE id = :id");
          rename.bind(":url", url);
          rename.bind(":id", same->second->id);
          rename.exec();
          same->second = nullptr;  // one row serves one configured URL
          continue;
        }
        Use insert(impl_->insert_feed);
        insert.bind(":url", url);
        insert->exec();
      }
      transaction.commit();
      known = list_feeds();
      if (!known) return known.error();
      index();
    }
    std::vector<FeedState> feeds;
    feeds.reserve(urls.size());
    for (const std::string& url : urls) {
      const auto found = by_url.find(url);
      if (found == by_url.end()) return impl_->error("feed " + url + " vanished while being added");
      feeds.push_back(*found->second);
    }
    return feeds;
  });
}

Result<std::optional<FeedState>> Store::find_feed(std::string_view url) {
  return impl_->guarded([&]() -> Result<std::optional<FeedState>> {
    {
      Use find(impl_->find_feed);
      find.bind(":url", std::string(url));
      if (find->executeStep()) return std::optional<FeedState>(read_feed(*find));
    }
    // Not stored as written: perhaps in another form of the same URL (see ensure_feeds). Only
    // the URLs are read here: a full row counts the feed's items.
    const std::string identity = normalize::feed_identity(url);
    std::string stored;
    {
      SQLite::Statement urls(impl_->db, "SELECT url FROM feeds ORDER BY id");
      while (stored.empty() && urls.executeStep()) {
        std::string candidate = urls.getColumn(0).getString();
        if (normalize::feed_identity(candidate) == identity) stored = std::move(candidate);
      }
    }
    if (stored.empty()) return std::optional<FeedState>();
    Use find(impl_->find_feed);
    find.bind(":url", stored);
    if (!find->executeStep()) return std::optional<FeedState>();
    return std::optional<FeedState>(read_feed(*find));
  });
}

Result<std::vector<FeedState>> Store::list_feeds() {
  return impl_->guarded([&]() -> Result<std::vector<FeedState>> {
    Use list(impl_->list_feeds);
    std::vector<FeedState> feeds;
    while (list->executeStep())
      feeds.push_back(read_feed(*list));
    return feeds;
  });
}

Result<StoreResult> Store::record_poll(const FeedState& state, const model::Feed* parsed,
                                       Time now) {
  return impl_->guarded([&]() -> Result<StoreResult> {
    // IMMEDIATE: take the write lock up front rather than fail half-way on a busy upgrade.
    SQLite::Transaction transaction(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    if (auto written = impl_->write_feed(state, parsed, now); !written) return written.error();
    StoreResult result;
    if (parsed != nullptr) {
      std::unordered_set<std::string> keys_seen;
      keys_seen.reserve(parsed->items.size());
      for (std::size_t index = 0; index < parsed->items.size(); ++index) {
        impl_->write_item(state.id, parsed->items[index], index, now, keys_seen, result);
      }
    }
    transaction.commit();
    return result;
  });
}

Result<void> Store::schedule_polls(const std::vector<std::pair<std::int64_t, Time>>& polls) {
  if (polls.empty()) return {};
  return impl_->guarded([&]() -> Result<void> {
    SQLite::Transaction transaction(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement update(impl_->db, "UPDATE feeds SET next_poll = :next_poll WHERE id = :id");
    for (const auto& [id, when] : polls) {
      Use use(update);
      use.bind(":id", id);
      use.bind(":next_poll", std::optional<Time>(when));
      use->exec();
    }
    transaction.commit();
    return {};
  });
}

Result<std::vector<StoredItem>> Store::items_of_feed(std::int64_t feed_id) {
  return impl_->guarded([&]() -> Result<std::vector<StoredItem>> {
    Use select(impl_->items_of_feed);
    select.bind(":feed_id", feed_id);
    std::vector<StoredItem> items;
    while (select->executeStep()) {
      auto item = impl_->read_item(*select);
      if (!item) return item.error();
      items.push_back(std::move(*item));
    }
    return items;
  });
}

Result<bool> Store::holds_item(std::int64_t id, const std::string& key) {
  return impl_->guarded([&]() -> Result<bool> {
    Use holds(impl_->item_has_key);
    holds.bind(":id", id);
    holds.bind(":key", key);
    return holds->executeStep();
  });
}

Result<std::int64_t> Store::count_items() {
  return impl_->guarded([&]() -> Result<std::int64_t> {
    Use count(impl_->count_items);
    count->executeStep();
    return count->getColumn(0).getInt64();
  });
}

Result<int> Store::prune(std::chrono::seconds retention, std::int64_t max_items_per_feed,
                         Time now) {
  return impl_->guarded([&]() -> Result<int> {
    SQLite::Transaction transaction(impl_->db, SQLite::TransactionBehavior::IMMEDIATE);
    int removed = 0;
    if (retention > std::chrono::seconds::zero()) {
      const std::optional<Time> cutoff = now - retention;
      Use bury(impl_->bury_old);
      bury.bind(":now", std::optional<Time>(now));
      bury.bind(":cutoff", cutoff);
      bury->exec();
      Use remove(impl_->delete_old);
      remove.bind(":cutoff", cutoff);
      removed += remove->exec();
    }
    // The ranking below reads every row (published lives past the content columns); a count
    // over the feed_id index tells first, cheaply, whether any feed is over its limit at all.
    bool over_limit = false;
    if (max_items_per_feed > 0) {
      Use check(impl_->any_feed_over);
      check.bind(":max_items", max_items_per_feed);
      over_limit = check->executeStep() && check->getColumn(0).getInt() != 0;
    }
    if (over_limit) {
      Use bury(impl_->bury_excess);
      bury.bind(":now", std::optional<Time>(now));
      bury.bind(":max_items", max_items_per_feed);
      bury->exec();
      Use remove(impl_->delete_excess);
      remove.bind(":max_items", max_items_per_feed);
      removed += remove->exec();
    }
    Use expire(impl_->expire_tombstones);
    expire.bind(":cutoff", std::optional<Time>(now - std::max(retention, kMinTombstoneLife)));
    expire->exec();
    transaction.commit();
    return removed;
  });
}

Result<void> Store::check_files() {
  const auto went = [this](const std::string& file, const std::optional<Impl::FileId>& now) {
    return impl_->error(now ? file + " was replaced by another file while open"
                            : file + " was deleted while open");
  };
  if (impl_->db_file) {
    const auto now = Impl::identify(impl_->path);
    if (now != impl_->db_file) return went("the database file", now);
  }
  const std::string wal = impl_->path + "-wal";
  const auto wal_now = Impl::identify(wal);
  if (!impl_->wal_file) {
    impl_->wal_file = wal_now;  // first seen now: SQLite creates it with the first access
  } else if (wal_now != impl_->wal_file) {
    return went("its write-ahead log " + wal, wal_now);
  }
  return {};
}

Result<void> Store::checkpoint(bool truncate) {
  return impl_->guarded([&]() -> Result<void> {
    // The pragma reports a checkpoint's failure as its result code, not as a row.
    const int code = sqlite3_wal_checkpoint_v2(
        impl_->db.getHandle(), nullptr,
        truncate ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    if (code != SQLITE_OK && code != SQLITE_BUSY) {
      std::string message = "checkpoint failed: ";
      message += sqlite3_errstr(code);
      if ((code & 0xff) == SQLITE_FULL) message += " (the disk is full)";
      return impl_->error(message);
    }
    return {};
  });
}

Result<void> Store::quick_check() {
  return impl_->guarded([&]() -> Result<void> {
    std::string findings;
    try {
      SQLite::Statement check(impl_->db, "PRAGMA quick_check(3)");
      while (check.executeStep()) {
        const std::string row = check.getColumn(0).getString();
        if (row == "ok") return {};
        if (!findings.empty()) findings += "; ";
        findings += row;
      }
    } catch (const SQLite::Exception& e) {
      // Damage that stops the check itself is its finding too.
      const int code = e.getErrorCode() & 0xff;
      if (code != SQLITE_CORRUPT && code != SQLITE_NOTADB) throw;
      findings = e.what();
    }
    return impl_->error("the database is corrupt: " + findings);
  });
}

}  // namespace feedmerge::store
