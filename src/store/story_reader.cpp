#include "feedmerge/store/story_reader.h"

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <algorithm>
#include <filesystem>

#include <boost/json.hpp>

#include "feedmerge/store/store.h"
#include "store/connection.h"
#include "store/item_codec.h"

namespace feedmerge::store {
namespace {

model::Time from_db(std::int64_t seconds) {
  return model::Time{std::chrono::seconds{seconds}};
}

// Binding and reset around one use of a prepared statement.
struct Use {
  explicit Use(SQLite::Statement& s) : statement(s) {}
  ~Use() {
    // Not reset(): it throws how the last step failed, and a destructor must not throw.
    statement.tryReset();
    statement.clearBindings();
  }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  SQLite::Statement& statement;
};

}  // namespace

struct StoryReader::Impl {
  Impl(std::string path_in, SQLite::Database db_in)
      : path(std::move(path_in)),
        db(std::move(db_in)),
        // :urls is a JSON array of feed URLs, or NULL for every feed: one prepared statement
        // serves every output.
        latest(db,
               "SELECT s.id, s.first_published, s.first_seen, s.updated, "
               "s.representative_item_id FROM stories AS s "
               "WHERE EXISTS (SELECT 1 FROM item_stories AS m JOIN items AS i ON i.id = "
               "m.item_id JOIN feeds AS f ON f.id = i.feed_id WHERE m.story_id = s.id AND "
               "(:urls IS NULL OR f.url IN "
               "(SELECT value FROM json_each(:urls)))) "
               "ORDER BY s.first_published DESC, s.id DESC LIMIT :limit"),
        members(db, "SELECT i.id, i.feed_id, f.url, f.title, f.link, " +
                        std::string(detail::kItemFields) +
                        ", i.first_seen FROM item_stories AS m JOIN items AS i ON i.id = "
                        "m.item_id JOIN feeds AS f ON f.id = i.feed_id WHERE m.story_id = :story "
                        "ORDER BY i.published, i.id"),
        count_items(db, "SELECT count(*) FROM items"),
        count_stories(db, "SELECT count(*) FROM stories") {}

  Error error(std::string_view what) const {
    return Error{ErrorKind::database, path + ": " + std::string(what)};
  }

  Result<model::StoryMember> read_member(const SQLite::Statement& row) const {
    model::StoryMember member;
    member.item_id = row.getColumn(0).getInt64();
    member.feed_id = row.getColumn(1).getInt64();
    member.feed_url = row.getColumn(2).getString();
    member.feed_title = row.getColumn(3).getString();
    member.feed_link = row.getColumn(4).getString();
    auto item = detail::item_from_row(row, 5);
    if (!item) return error(item.error().message);
    member.item = std::move(*item);
    member.first_seen = from_db(row.getColumn(5 + detail::kItemFieldCount).getInt64());
    return member;
  }

  std::string path;
  SQLite::Database db;
  SQLite::Statement latest;
  SQLite::Statement members;
  SQLite::Statement count_items;
  SQLite::Statement count_stories;
};

StoryReader::StoryReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StoryReader::~StoryReader() = default;

Result<std::unique_ptr<StoryReader>> StoryReader::open(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return Error{ErrorKind::database,
                 path + ": no database here (the daemon creates it when it first starts)"};
  }
  try {
    SQLite::Database db = detail::open_connection(path, SQLite::OPEN_READONLY);
    const int version = db.execAndGet("PRAGMA user_version").getInt();
    if (version != kSchemaVersion) {
      return Error{ErrorKind::database, path + ": database schema version " +
                                            std::to_string(version) + ", this feedmerge reads " +
                                            std::to_string(kSchemaVersion)};
    }
    auto impl = std::make_unique<Impl>(path, std::move(db));
    return std::unique_ptr<StoryReader>(new StoryReader(std::move(impl)));
  } catch (const std::exception& e) {
    return Error{ErrorKind::database, path + ": " + e.what()};
  }
}

Result<std::vector<model::Story>> StoryReader::latest(const std::vector<std::string>* feed_urls,
                                                   int limit) {
  try {
    // One read transaction: the stories and their members are one consistent picture even
    // while the writer commits.
    impl_->db.exec("BEGIN");
    struct EndRead {
      SQLite::Database& db;
      ~EndRead() {
        try {
          db.exec("COMMIT");
        } catch (...) {  // a read transaction has nothing to lose
        }
      }
    } end_read{impl_->db};

    std::vector<model::Story> stories;
    std::vector<std::optional<std::int64_t>> representatives;
    {
      Use use(impl_->latest);
      if (feed_urls) {
        boost::json::array urls;
        for (const std::string& url : *feed_urls)
          urls.emplace_back(url);
        impl_->latest.bind(":urls", boost::json::serialize(urls));
      }
      impl_->latest.bind(":limit", std::max(0, limit));
      while (impl_->latest.executeStep()) {
        model::Story story;
        story.id = impl_->latest.getColumn(0).getInt64();
        story.first_published = from_db(impl_->latest.getColumn(1).getInt64());
        story.first_seen = from_db(impl_->latest.getColumn(2).getInt64());
        story.updated = from_db(impl_->latest.getColumn(3).getInt64());
        const auto representative = impl_->latest.getColumn(4);
        representatives.push_back(representative.isNull()
                                      ? std::nullopt
                                      : std::optional<std::int64_t>(representative.getInt64()));
        stories.push_back(std::move(story));
      }
    }
    for (std::size_t i = 0; i < stories.size(); ++i) {
      model::Story& story = stories[i];
      Use use(impl_->members);
      impl_->members.bind(":story", story.id);
      while (impl_->members.executeStep()) {
        auto member = impl_->read_member(impl_->members);
        if (!member) return member.error();
        story.members.push_back(std::move(*member));
      }
      // Members come earliest first; the representative moves to the front.
      const auto found =
          std::find_if(story.members.begin(), story.members.end(), [&](const model::StoryMember& member) {
            return representatives[i] && member.item_id == *representatives[i];
          });
      if (found != story.members.end()) std::rotate(story.members.begin(), found, found + 1);
    }
    return stories;
  } catch (const std::exception& e) {
    return impl_->error(e.what());
  }
}

Result<StoreCounts> StoryReader::counts() {
  try {
    StoreCounts counts;
    {
      Use use(impl_->count_items);
      impl_->count_items.executeStep();
      counts.items = impl_->count_items.getColumn(0).getInt64();
    }
    {
      Use use(impl_->count_stories);
      impl_->count_stories.executeStep();
      counts.stories = impl_->count_stories.getColumn(0).getInt64();
    }
    return counts;
  } catch (const std::exception& e) {
    return impl_->error(e.what());
  }
}

}  // namespace feedmerge::store
