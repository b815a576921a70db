// SqliteStore: opening the file, feed state, retention and the files' health; open_sqlite.
#include "store/sqlite_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Transaction.h>

#include <algorithm>
#include <filesystem>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "feedmerge/normalize/url.h"
#include "store/connection.h"
#include "store/schema.h"

namespace feedmerge::store {

Time dedup_time(std::optional<Time> updated, Time stored_published, bool published_estimated,
                Time first_seen) {
  if (published_estimated && updated && *updated <= first_seen) return *updated;
  return stored_published;
}

Time dedup_time(const StoredItem& item) {
  return dedup_time(item.item.updated, *item.item.published, item.published_estimated,
                    item.first_seen);
}

Result<FeedState> Store::ensure_feed(std::string_view url) {
  auto feeds = ensure_feeds({std::string(url)});
  if (!feeds) return feeds.error();
  return std::move(feeds->front());
}

Result<std::unique_ptr<Store>> open_sqlite(const std::string& path, OpenMode mode) {
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
    return std::unique_ptr<Store>(new detail::SqliteStore(path, std::move(db), mode));
  } catch (const std::exception& e) {
    return Error{ErrorKind::database, path + ": " + e.what()};
  }
}

namespace detail {
SqliteStore::SqliteStore(std::string path, SQLite::Database db, OpenMode mode)
    : path_(std::move(path)), db_(std::move(db)), items_(db_), stories_(db_) {
  if (mode == OpenMode::read_write) {
    db_file_ = identify(path_);
    wal_file_ = identify(path_ + "-wal");
  }
}

SqliteStore::~SqliteStore() = default;

std::optional<SqliteStore::FileId> SqliteStore::identify(const std::string& file) {
  struct stat status {};
  if (::stat(file.c_str(), &status) != 0) return std::nullopt;
  return FileId{status.st_dev, status.st_ino};
}

Error SqliteStore::error(const std::exception& e) const {
  std::string message = path_ + ": " + e.what();
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
Error SqliteStore::error(std::string_view what) const {
  return Error{ErrorKind::database, path_ + ": " + std::string(what)};
}

Result<std::vector<FeedState>> SqliteStore::ensure_feeds(const std::vector<std::string>& urls) {
  return guarded([&]() -> Result<std::vector<FeedState>> {
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
      SQLite::Transaction transaction(db_, SQLite::TransactionBehavior::IMMEDIATE);
      for (const std::string& url : urls) {
        if (by_url.contains(url)) continue;
        const auto same = by_identity.find(normalize::feed_identity(url));
        if (same != by_identity.end() && same->second != nullptr) {
          // Rare (a config edit), so not worth a statement prepared for every open.
          SQLite::Statement rename(db_, "UPDATE feeds SET url = :url WHERE id = :id");
          rename.bind(":url", url);
          rename.bind(":id", same->second->id);
          rename.exec();
          same->second = nullptr;  // one row serves one configured URL
          continue;
        }
        Use insert(items_.insert_feed);
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
      if (found == by_url.end()) return error("feed " + url + " vanished while being added");
      feeds.push_back(*found->second);
    }
    return feeds;
  });
}

Result<std::optional<FeedState>> SqliteStore::find_feed(std::string_view url) {
  return guarded([&]() -> Result<std::optional<FeedState>> {
    {
      Use find(items_.find_feed);
      find.bind(":url", std::string(url));
      if (find->executeStep()) return std::optional<FeedState>(feed_from_row(*find));
    }
    // Not stored as written: perhaps in another form of the same URL (see ensure_feeds). Only
    // the URLs are read here: a full row counts the feed's items.
    const std::string identity = normalize::feed_identity(url);
    std::string stored;
    {
      SQLite::Statement urls(db_, "SELECT url FROM feeds ORDER BY id");
      while (stored.empty() && urls.executeStep()) {
        std::string candidate = urls.getColumn(0).getString();
        if (normalize::feed_identity(candidate) == identity) stored = std::move(candidate);
      }
    }
    if (stored.empty()) return std::optional<FeedState>();
    Use find(items_.find_feed);
    find.bind(":url", stored);
    if (!find->executeStep()) return std::optional<FeedState>();
    return std::optional<FeedState>(feed_from_row(*find));
  });
}

Result<std::vector<FeedState>> SqliteStore::list_feeds() {
  return guarded([&]() -> Result<std::vector<FeedState>> {
    Use list(items_.list_feeds);
    std::vector<FeedState> feeds;
    while (list->executeStep())
      feeds.push_back(feed_from_row(*list));
    return feeds;
  });
}

Result<void> SqliteStore::schedule_polls(const std::vector<std::pair<std::int64_t, Time>>& polls) {
  if (polls.empty()) return {};
  return guarded([&]() -> Result<void> {
    SQLite::Transaction transaction(db_, SQLite::TransactionBehavior::IMMEDIATE);
    SQLite::Statement update(db_, "UPDATE feeds SET next_poll = :next_poll WHERE id = :id");
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

Result<int> SqliteStore::prune(std::chrono::seconds retention, std::int64_t max_items_per_feed,
                               Time now) {
  return guarded([&]() -> Result<int> {
    SQLite::Transaction transaction(db_, SQLite::TransactionBehavior::IMMEDIATE);
    int removed = 0;
    if (retention > std::chrono::seconds::zero()) {
      const std::optional<Time> cutoff = now - retention;
      Use bury(items_.bury_old);
      bury.bind(":now", std::optional<Time>(now));
      bury.bind(":cutoff", cutoff);
      bury->exec();
      Use remove(items_.delete_old);
      remove.bind(":cutoff", cutoff);
      removed += remove->exec();
    }
    // The ranking below reads every row (published lives past the content columns); a count
    // over the feed_id index tells first, cheaply, whether any feed is over its limit at all.
    bool over_limit = false;
    if (max_items_per_feed > 0) {
      Use check(items_.any_feed_over);
      check.bind(":max_items", max_items_per_feed);
      over_limit = check->executeStep() && check->getColumn(0).getInt() != 0;
    }
    if (over_limit) {
      Use bury(items_.bury_excess);
      bury.bind(":now", std::optional<Time>(now));
      bury.bind(":max_items", max_items_per_feed);
      bury->exec();
      Use remove(items_.delete_excess);
      remove.bind(":max_items", max_items_per_feed);
      removed += remove->exec();
    }
    Use expire(items_.expire_tombstones);
    expire.bind(":cutoff", std::optional<Time>(now - std::max(retention, kMinTombstoneLife)));
    expire->exec();
    transaction.commit();
    return removed;
  });
}

Result<void> SqliteStore::check_files() {
  const auto went = [this](const std::string& file, const std::optional<FileId>& now) {
    return error(now ? file + " was replaced by another file while open"
                     : file + " was deleted while open");
  };
  if (db_file_) {
    const auto now = identify(path_);
    if (now != db_file_) return went("the database file", now);
  }
  const std::string wal = path_ + "-wal";
  const auto wal_now = identify(wal);
  if (!wal_file_) {
    wal_file_ = wal_now;  // first seen now: SQLite creates it with the first access
  } else if (wal_now != wal_file_) {
    return went("its write-ahead log " + wal, wal_now);
  }
  return {};
}

Result<void> SqliteStore::checkpoint(bool truncate) {
  return guarded([&]() -> Result<void> {
    // The pragma reports a checkpoint's failure as its result code, not as a row.
    const int code = sqlite3_wal_checkpoint_v2(
        db_.getHandle(), nullptr, truncate ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_PASSIVE,
        nullptr, nullptr);
    if (code != SQLITE_OK && code != SQLITE_BUSY) {
      std::string message = "checkpoint failed: ";
      message += sqlite3_errstr(code);
      if ((code & 0xff) == SQLITE_FULL) message += " (the disk is full)";
      return error(message);
    }
    return {};
  });
}

Result<void> SqliteStore::quick_check() {
  return guarded([&]() -> Result<void> {
    std::string findings;
    try {
      SQLite::Statement check(db_, "PRAGMA quick_check(3)");
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
    return error("the database is corrupt: " + findings);
  });
}

}  // namespace detail
}  // namespace feedmerge::store
