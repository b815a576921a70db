// store::Cluster over PostgreSQL (the tables of schema version 2, pg_store.cpp): lease rounds,
// the story assigner's lock and terms, and the view `feeds` and /metrics read.
#include "feedmerge/store/cluster.h"

#include <unistd.h>

#include <boost/json.hpp>

#include <random>

#include "store/item_codec.h"
#include "store/pg_store.h"

namespace feedmerge::store {
namespace {

std::string json_array(const std::vector<std::string>& values) {
  boost::json::array array;
  for (const std::string& value : values)
    array.emplace_back(value);
  return boost::json::serialize(array);
}

std::string trimmed(const std::exception& e) {
  std::string what = e.what();
  while (!what.empty() && (what.back() == '\n' || what.back() == ' '))
    what.pop_back();
  return what;
}

// Whether the connection's session holds the assigner lock.
constexpr const char* kHoldsAssignerLock =
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
    "pid = pg_backend_pid() AND classid = $1 AND objid = $2 AND objsubid = 2)";

// Counts the notifications of stories changed (PgStore's NOTIFY after each story write).
class StoryChanges final : public pqxx::notification_receiver {
 public:
  explicit StoryChanges(pqxx::connection_base& connection)
      : pqxx::notification_receiver(connection, std::string(detail::kStoriesChannel)) {}
  void operator()(const std::string&, int) override { ++count; }
  int count = 0;
};

class PgCluster final : public Cluster {
 public:
  PgCluster(std::string where, std::unique_ptr<pqxx::connection> connection, std::string owner,
            std::chrono::seconds lease)
      : where_(std::move(where)),
        connection_(std::move(connection)),
        owner_(std::move(owner)),
        lease_(std::to_string(lease.count()) + " seconds") {}

  Result<LeaseRound> hold(const std::vector<std::string>& units) override {
    try {
      pqxx::work work(*connection_);
      const std::string wanted = json_array(units);
      // Units nobody registered yet: free.
      work.exec_params(
          "INSERT INTO leases (unit) SELECT json_array_elements_text($1::text::json) "
          "ON CONFLICT (unit) DO NOTHING",
          wanted);
      work.exec_params(
          "INSERT INTO pollers (owner, started, expires_at) VALUES ($1, clock_timestamp(), "
          "clock_timestamp() + $2::interval) ON CONFLICT (owner) DO UPDATE SET expires_at = "
          "excluded.expires_at",
          owner_, lease_);
      work.exec("DELETE FROM pollers WHERE expires_at < clock_timestamp()");
      // Units this process no longer polls go back at once.
      work.exec_params(
          "UPDATE leases SET owner = '', expires_at = '-infinity' WHERE owner = $1 AND unit NOT "
          "IN (SELECT json_array_elements_text($2::text::json))",
          owner_, wanted);
      // Renewed: only what is still ours (a unit whose lease ran out may have gone to another).
      std::vector<std::string> held;
      for (const auto& row : work.exec_params(
               "UPDATE leases SET expires_at = clock_timestamp() + $2::interval WHERE owner = $1 "
               "RETURNING unit",
               owner_, lease_))
        held.push_back(row[0].as<std::string>());
      const pqxx::row counts = work.exec1(
          "SELECT (SELECT count(*) FROM leases), (SELECT count(*) FROM pollers WHERE "
          "expires_at >= clock_timestamp())");
      LeaseRound round;
      round.units = counts[0].as<int>();
      round.pollers = std::max(1, counts[1].as<int>());
      const int share = (round.units + round.pollers - 1) / round.pollers;
      const int have = static_cast<int>(held.size());
      if (have > share) {
        // The others claim these at their next round: a newcomer gets its share this way.
        for (const auto& row : work.exec_params(
                 "UPDATE leases SET owner = '', expires_at = '-infinity' WHERE unit IN (SELECT "
                 "unit FROM leases WHERE owner = $1 ORDER BY unit DESC LIMIT $2) RETURNING unit",
                 owner_, have - share)) {
          std::erase(held, row[0].as<std::string>());
        }
      } else if (have < share) {
        for (const auto& row : work.exec_params(
                 "UPDATE leases SET owner = $1, expires_at = clock_timestamp() + $2::interval "
                 "WHERE unit IN (SELECT unit FROM leases WHERE expires_at < clock_timestamp() "
                 "AND unit IN (SELECT json_array_elements_text($3::text::json)) ORDER BY unit "
                 "LIMIT $4 FOR UPDATE SKIP LOCKED) RETURNING unit",
                 owner_, lease_, wanted, share - have)) {
          held.push_back(row[0].as<std::string>());
        }
      }
      work.commit();
      round.held = std::move(held);
      return round;
    } catch (const std::exception& e) {
      return error("leases: " + trimmed(e));
    }
  }

  Result<std::optional<std::int64_t>> assigner_term() override {
    try {
      pqxx::nontransaction work(*connection_);
      if (term_) {
        // A connection libpqxx opened again is a new session, without the lock.
        const bool held = work.exec_params1(kHoldsAssignerLock, detail::kAssignerLockClass,
                                            detail::kAssignerLockId)[0]
                              .as<bool>();
        if (held) return term_;
        term_.reset();
      }
      const bool taken = work.exec_params1("SELECT pg_try_advisory_lock($1, $2)",
                                           detail::kAssignerLockClass, detail::kAssignerLockId)[0]
                             .as<bool>();
      if (!taken) return std::optional<std::int64_t>();
      term_ = work.exec_params1(
                      "INSERT INTO assigner_terms (owner, session_pid, started) VALUES ($1, "
                      "pg_backend_pid(), clock_timestamp()) RETURNING term",
                      owner_)[0]
                  .as<std::int64_t>();
      return term_;
    } catch (const std::exception& e) {
      term_.reset();
      return error("story assigner lock: " + trimmed(e));
    }
  }

  Result<bool> await_story_change(std::chrono::milliseconds timeout) override {
    try {
      if (!changes_) changes_ = std::make_unique<StoryChanges>(*connection_);
      const int before = changes_->count;
      connection_->get_notifs();  // those that arrived while the keeper was busy
      if (changes_->count == before) {
        const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
        connection_->await_notification(micros / 1000000, micros % 1000000);
      }
      return changes_->count != before;
    } catch (const std::exception& e) {
      changes_.reset();
      return error("listening for story changes: " + trimmed(e));
    }
  }

  Result<std::vector<FeedState>> feeds(const std::vector<std::string>& urls) override {
    try {
      pqxx::read_transaction work(*connection_);
      std::vector<FeedState> feeds;
      for (const auto& row :
           work.exec_params(std::string("SELECT ") + std::string(detail::kFeedFields) +
                                " FROM feeds AS f WHERE f.url IN (SELECT "
                                "json_array_elements_text($1::text::json)) ORDER BY f.id",
                            json_array(urls)))
        feeds.push_back(detail::pg_feed(row));
      return feeds;
    } catch (const std::exception& e) {
      return error("feeds: " + trimmed(e));
    }
  }

  void leave() override {
    try {
      pqxx::work work(*connection_);
      work.exec_params("UPDATE leases SET owner = '', expires_at = '-infinity' WHERE owner = $1",
                       owner_);
      work.exec_params("DELETE FROM pollers WHERE owner = $1", owner_);
      work.commit();
    } catch (const std::exception&) {
      // The leases run out by themselves.
    }
  }

  const std::string& owner() const override { return owner_; }

 private:
  Error error(const std::string& what) const {
    return Error{ErrorKind::database, where_ + ": " + what};
  }

  const std::string where_;
  std::unique_ptr<pqxx::connection> connection_;
  const std::string owner_;
  const std::string lease_;  // as an interval's text
  std::optional<std::int64_t> term_;
  std::unique_ptr<StoryChanges> changes_;  // after connection_: unregisters before it closes
};

}  // namespace

Result<std::unique_ptr<Cluster>> open_cluster(const std::string& url, std::string owner,
                                              std::chrono::seconds lease) {
  const std::string where = detail::redact_url(url);
  try {
    auto connection = std::make_unique<pqxx::connection>(url);
    // Shown by pg_stat_activity: which process a server session belongs to.
    connection->set_variable("application_name", connection->quote("feedmerge " + owner));
    return std::unique_ptr<Cluster>(
        new PgCluster(where, std::move(connection), std::move(owner), lease));
  } catch (const std::exception& e) {
    return Error{ErrorKind::database, where + ": cannot connect: " + trimmed(e)};
  }
}

std::string make_owner_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::random_device random;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%08x", random());
  return std::string(host) + ":" + std::to_string(::getpid()) + ":" + suffix;
}

Result<ClusterView> read_cluster(const std::string& url) {
  try {
    pqxx::connection connection(url);
    pqxx::read_transaction work(connection);
    ClusterView view;
    for (const auto& row :
         work.exec("SELECT unit, CASE WHEN expires_at >= clock_timestamp() THEN owner ELSE '' END "
                   "FROM leases ORDER BY unit"))
      view.leases.push_back({row[0].as<std::string>(), row[1].as<std::string>()});
    const pqxx::result assigner = work.exec_params(
        "SELECT t.owner FROM assigner_terms AS t JOIN pg_locks AS l ON l.pid = t.session_pid "
        "AND l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 AND "
        "l.objsubid = 2 ORDER BY t.term DESC LIMIT 1",
        detail::kAssignerLockClass, detail::kAssignerLockId);
    if (!assigner.empty()) view.assigner = assigner[0][0].as<std::string>();
    return view;
  } catch (const std::exception& e) {
    return Error{ErrorKind::database, detail::redact_url(url) + ": " + trimmed(e)};
  }
}

}  // namespace feedmerge::store
