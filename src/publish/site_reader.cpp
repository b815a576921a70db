// Every store access of publishing is in this file: the store's types become the renderer's
// values here, and nowhere else.
#include "feedmerge/publish/site_reader.h"

#include <optional>
#include <unordered_map>
#include <utility>

#include "feedmerge/publish/settings.h"
#include "feedmerge/store/store.h"

namespace feedmerge::publish {
namespace {

FeedStatus status_of(const store::FeedState& state) {
  return {.title = state.title,
          .link = state.link,
          .last_attempt = state.last_attempt,
          .last_success = state.last_success,
          .consecutive_failures = state.consecutive_failures,
          .last_error = state.last_error,
          .disabled = state.disabled,
          .disabled_reason = state.disabled_reason,
          .item_count = state.item_count};
}

std::vector<FeedRow> feed_rows(const config::Config& config,
                               const std::vector<store::FeedState>& states) {
  std::unordered_map<std::string_view, const store::FeedState*> by_url;
  for (const store::FeedState& state : states)
    by_url.emplace(state.url, &state);
  std::vector<FeedRow> rows;
  rows.reserve(config.feeds.size());
  for (const config::FeedConfig& feed : config.feeds) {
    FeedRow row{.url = feed.url,
                .title = feed.title,
                .category = feed.category,
                .enabled = feed.enabled,
                .status = std::nullopt};
    if (const auto found = by_url.find(feed.url); found != by_url.end())
      row.status = status_of(*found->second);
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

struct SiteReader::Impl {
  std::unique_ptr<store::Store> store;  // read-only
};

Result<std::unique_ptr<SiteReader>> SiteReader::open(const std::string& database_path) {
  auto opened = store::open_store(database_path, store::OpenMode::read_only);
  if (!opened) return opened.error();
  return std::unique_ptr<SiteReader>(
      new SiteReader(std::make_unique<Impl>(Impl{.store = std::move(*opened)})));
}

SiteReader::SiteReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SiteReader::~SiteReader() = default;

Result<SiteValues> SiteReader::read(const config::Config& config) {
  auto states = impl_->store->list_feeds();
  if (!states) return states.error();
  SiteValues values;
  values.stories.outputs.reserve(config.outputs.size());
  for (const config::OutputConfig& output : config.outputs) {
    const auto urls = feeds_in_categories(config, output.categories);
    auto stories = impl_->store->latest(urls ? &*urls : nullptr, output.limit);
    if (!stories) return stories.error();
    values.stories.outputs.push_back(std::move(*stories));
  }
  auto index = impl_->store->latest(nullptr, kIndexStories);
  if (!index) return index.error();
  values.stories.index = std::move(*index);
  values.feeds = feed_rows(config, *states);
  return values;
}

Result<StoredCounts> SiteReader::counts() {
  auto counts = impl_->store->counts();
  if (!counts) return counts.error();
  return StoredCounts{.items = counts->items, .stories = counts->stories};
}

}  // namespace feedmerge::publish
