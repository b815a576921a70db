#include "feedmerge/report/feeds.h"

#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <unordered_map>

#include <boost/json.hpp>

#include "feedmerge/fetch/fetcher.h"
#include "feedmerge/normalize/url.h"
#include "feedmerge/store/cluster.h"

namespace feedmerge::report {
namespace {

std::string rfc3339(model::Time time) {
  const std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

boost::json::value time_or_null(const std::optional<model::Time>& time) {
  if (!time) return nullptr;
  return boost::json::string(rfc3339(*time));
}

// "in 25m", "3h ago": what a person wants to know about a time in the feed list.
std::string relative(model::Time time, model::Time now) {
  const auto delta = time - now;
  const auto magnitude = delta < std::chrono::seconds{0} ? -delta : delta;
  std::string amount;
  if (magnitude < std::chrono::seconds{1}) return "now";
  if (magnitude < std::chrono::minutes{1}) {
    amount = std::to_string(magnitude.count()) + "s";
  } else if (magnitude < std::chrono::hours{1}) {
    amount = std::to_string(std::chrono::floor<std::chrono::minutes>(magnitude).count()) + "m";
  } else if (magnitude < std::chrono::days{2}) {
    amount = std::to_string(std::chrono::floor<std::chrono::hours>(magnitude).count()) + "h";
  } else {
    amount = std::to_string(std::chrono::floor<std::chrono::days>(magnitude).count()) + "d";
  }
  return delta < std::chrono::seconds{0} ? amount + " ago" : "in " + amount;
}

std::string time_text(const std::optional<model::Time>& time, model::Time now) {
  if (!time) return "never";
  return rfc3339(*time) + " (" + relative(*time, now) + ")";
}

}  // namespace

std::string feed_status(const store::FeedState& state, model::Time now) {
  if (state.disabled) return "disabled";
  if (!state.last_attempt) return "never polled";
  if (state.consecutive_failures == 0) return "ok";
  if (state.failing_since && now - *state.failing_since >= kBrokenAfter) return "broken";
  return "failing";
}

Result<std::vector<FeedReport>> feed_reports(const config::Config& config, store::Store* store,
                                             model::Time now) {
  std::vector<FeedReport> reports;
  for (const config::FeedConfig& feed : config.feeds) {
    FeedReport report{.url = feed.url,
                      .fetch_url = feed.url,
                      .title = feed.title,
                      .enabled = feed.enabled,
                      .status = feed.enabled ? "never polled" : "disabled"};
    if (store != nullptr) {
      auto found = store->find_feed(feed.url);
      if (!found) return found.error();
      if (*found) {
        const store::FeedState& state = **found;
        report.fetch_url = store::url_to_fetch(state);
        report.credentials_withheld = (!feed.headers.empty() || !feed.username.empty()) &&
                                      !fetch::same_origin(report.fetch_url, feed.url);
        if (report.title.empty()) report.title = state.title;
        if (feed.enabled) report.status = feed_status(state, now);
        report.last_status = state.last_status;
        report.last_attempt = state.last_attempt;
        report.last_success = state.last_success;
        report.next_poll = state.next_poll;
        report.items = state.item_count;
        report.consecutive_failures = state.consecutive_failures;
        report.error = state.disabled ? state.disabled_reason : state.last_error;
      }
    }
    reports.push_back(std::move(report));
  }
  return reports;
}

Result<std::vector<FeedReport>> feed_reports(const config::Config& config,
                                             const std::string& database, model::Time now) {
  std::unique_ptr<store::Store> store;
  if (store::is_postgresql_url(database) || std::filesystem::exists(database)) {
    auto opened = store::open_store(database, store::OpenMode::read_only);
    if (!opened) return opened.error();
    store = std::move(*opened);
  }
  auto reports = feed_reports(config, store.get(), now);
  if (!reports || !store::is_postgresql_url(database)) return reports;
  auto cluster = store::read_cluster(database);
  if (!cluster) return cluster.error();
  std::unordered_map<std::string, std::string> holders;
  for (const store::LeaseHolder& lease : cluster->leases)
    holders.emplace(lease.unit, lease.owner);
  for (FeedReport& report : *reports) {
    // The lease unit, as the daemon claims it (daemon::lease_unit): the host, or a file:// URL.
    const std::string unit =
        normalize::is_file_url(report.url) ? report.url : fetch::politeness_host(report.url);
    if (const auto found = holders.find(unit); found != holders.end())
      report.holder = found->second;
  }
  return reports;
}

Result<std::string> story_assigner(const std::string& database) {
  if (!store::is_postgresql_url(database)) return std::string();
  auto cluster = store::read_cluster(database);
  if (!cluster) return cluster.error();
  return cluster->assigner;
}

std::string fault_note_path(const std::string& database) {
  return database + ".fault";
}

std::string database_fault(const std::string& database) {
  std::ifstream in(fault_note_path(database));
  std::string note;
  std::getline(in, note);
  return note;
}

std::string feeds_json(const std::vector<FeedReport>& reports, const std::string& fault,
                       const std::string& assigner) {
  boost::json::array feeds;
  for (const FeedReport& report : reports) {
    boost::json::object feed;
    feed["url"] = report.url;
    feed["fetch_url"] = report.fetch_url;
    feed["title"] = report.title;
    feed["enabled"] = report.enabled;
    feed["status"] = report.status;
    feed["last_status"] =
        report.last_status > 0 ? boost::json::value(report.last_status) : boost::json::value();
    feed["last_attempt"] = time_or_null(report.last_attempt);
    feed["last_success"] = time_or_null(report.last_success);
    feed["next_poll"] = time_or_null(report.next_poll);
    feed["items"] = report.items;
    feed["consecutive_failures"] = report.consecutive_failures;
    feed["error"] = report.error.empty() ? boost::json::value() : boost::json::value(report.error);
    feed["credentials_withheld"] = report.credentials_withheld;
    feed["holder"] =
        report.holder.empty() ? boost::json::value() : boost::json::value(report.holder);
    feeds.push_back(std::move(feed));
  }
  boost::json::object root;
  root["database_fault"] = fault.empty() ? boost::json::value() : boost::json::value(fault);
  root["story_assigner"] = assigner.empty() ? boost::json::value() : boost::json::value(assigner);
  root["feeds"] = std::move(feeds);
  return boost::json::serialize(root) + "\n";
}

std::string feeds_text(const std::vector<FeedReport>& reports, model::Time now,
                       const std::string& fault, const std::string& assigner) {
  std::ostringstream out;
  if (!fault.empty()) out << "database: the daemon stopped writing at " << fault << "\n\n";
  if (!assigner.empty()) out << "stories: assigned by " << assigner << "\n\n";
  for (const FeedReport& report : reports) {
    out << report.url << '\n';
    if (report.fetch_url != report.url) out << "  moved to:     " << report.fetch_url << '\n';
    if (report.credentials_withheld)
      out << "  credentials:  withheld from the new origin until the config names that URL\n";
    if (!report.title.empty()) out << "  title:        " << report.title << '\n';
    if (!report.holder.empty()) out << "  polled by:    " << report.holder << '\n';
    out << "  status:       " << report.status;
    if (report.last_status > 0) out << " (HTTP " << report.last_status << ')';
    if (report.consecutive_failures > 0)
      out << ", " << report.consecutive_failures
          << (report.consecutive_failures == 1 ? " failure" : " failures in a row");
    out << '\n';
    out << "  last success: " << time_text(report.last_success, now) << '\n';
    out << "  items:        " << report.items << '\n';
    out << "  next poll:    "
        << (report.enabled && report.status != "disabled" ? time_text(report.next_poll, now)
                                                          : std::string("none"))
        << '\n';
    if (!report.error.empty()) out << "  error:        " << report.error << '\n';
  }
  return out.str();
}

}  // namespace feedmerge::report
