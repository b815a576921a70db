#include "feedmerge/daemon/stories.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include <boost/json.hpp>

#include "daemon/story_assigner.h"
#include "feedmerge/daemon/daemon.h"
#include "feedmerge/dedup/features.h"
#include "feedmerge/normalize/date.h"
#include "feedmerge/normalize/text.h"

namespace feedmerge::daemon {
namespace {

model::Time now_utc() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

const store::StoryItem& representative(const store::StoryRecord& story) {
  for (const store::StoryItem& item : story.items) {
    if (story.representative_item_id && item.id == *story.representative_item_id) return item;
  }
  return story.items.front();
}

Result<std::unique_ptr<store::StoryStore>> open_stories(const config::Config& config,
                                                        store::OpenMode mode) {
  return store::StoryStore::open(database_path(config), mode);
}

Result<store::StoryItem> find_item(store::StoryStore& stories, const std::string& link) {
  auto items = stories.items_with_link(link);
  if (!items) return items.error();
  if (items->empty()) {
    return Error{ErrorKind::invalid_input, link + ": no stored item has this link"};
  }
  return items->front();
}

std::string body_text(const model::Item& item) {
  std::string body = normalize::html_to_text(item.summary);
  if (body.size() < 300) {
    // Appended in two steps: `" " + text` trips GCC 12's -Wrestrict at -O3 (a false alarm).
    body += ' ';
    body += normalize::html_to_text(item.content);
  }
  return body;
}

}  // namespace

Result<std::vector<store::StoryRecord>> list_stories(const config::Config& config,
                                                     std::optional<model::Time> since) {
  auto stories = open_stories(config, store::OpenMode::read_only);
  if (!stories) {
    // No database yet: no stories yet.
    if (!std::filesystem::exists(database_path(config))) return std::vector<store::StoryRecord>();
    return stories.error();
  }
  return (*stories)->list_stories(since);
}

std::string stories_json(const std::vector<store::StoryRecord>& stories) {
  boost::json::array list;
  for (const store::StoryRecord& story : stories) {
    const store::StoryItem& shown = representative(story);
    boost::json::array items;
    for (const store::StoryItem& item : story.items) {
      boost::json::value published = nullptr;
      if (!item.published_estimated) published = normalize::format_rfc3339(*item.item.published);
      items.push_back(boost::json::object{{"feed", item.feed_url},
                                          {"id", item.item.id},
                                          {"link", item.item.link},
                                          {"title", item.item.title},
                                          {"published", std::move(published)}});
    }
    list.push_back(boost::json::object{{"id", std::to_string(story.id)},
                                       {"title", shown.item.title},
                                       {"link", shown.item.link},
                                       {"first_seen", normalize::format_rfc3339(story.first_seen)},
                                       {"updated", normalize::format_rfc3339(story.updated)},
                                       {"items", std::move(items)}});
  }
  return boost::json::serialize(boost::json::object{{"stories", std::move(list)}}) + "\n";
}

std::string stories_text(const std::vector<store::StoryRecord>& stories) {
  std::ostringstream out;
  for (const store::StoryRecord& story : stories) {
    const store::StoryItem& shown = representative(story);
    out << "story " << story.id << ": " << shown.item.title << "\n  " << shown.item.link
        << "\n  first published " << normalize::format_rfc3339(story.first_published)
        << ", updated " << normalize::format_rfc3339(story.updated) << ", " << story.items.size()
        << (story.items.size() == 1 ? " item\n" : " items\n");
    for (const store::StoryItem& item : story.items) {
      out << "    " << (item.id == shown.id ? "* " : "- ")
          << normalize::format_rfc3339(*item.item.published) << "  " << item.item.title << "  ("
          << (item.relation.empty() ? "?" : item.relation) << ")\n      " << item.item.link << "\n";
    }
    out << "\n";
  }
  return out.str();
}

Result<std::string> explain_pair(const config::Config& config, const std::string& link_a,
                                 const std::string& link_b) {
  auto opened = open_stories(config, store::OpenMode::read_only);
  if (!opened) return opened.error();
  store::StoryStore& stories = **opened;
  auto a = find_item(stories, link_a);
  if (!a) return a.error();
  auto b = find_item(stories, link_b);
  if (!b) return b.error();

  dedup::DedupOptions options{config.dedup.window, config.dedup.threshold, config.dedup.preferred};
  dedup::StoryIndex index(options);
  auto merge_of = [&](const store::StoryItem& item) {
    for (const auto& feed : config.feeds)
      if (feed.url == item.feed_url) return feed.merge;
    return true;
  };
  auto candidate = [&](const store::StoryItem& item) {
    return dedup::make_candidate(item.item, item.id, item.feed_id, merge_of(item),
                                 dedup_time(item));
  };
  // The term statistics of the items around the pair, as the daemon saw them.
  const model::Time ta = dedup_time(*a);
  const model::Time tb = dedup_time(*b);
  auto around = stories.assigned_between(std::min(ta, tb) - 2 * options.window,
                                         std::max(ta, tb) + options.window);
  if (!around) return around.error();
  for (const store::StoryItem& item : *around)
    index.add(candidate(item), *item.story_id, dedup::Relation::report);

  const dedup::Signals signals = index.compare(candidate(*a), candidate(*b));
  std::ostringstream out;
  auto describe = [&](const char* name, const store::StoryItem& item) {
    out << name << ": " << item.item.title << "\n   " << item.item.link << "\n   feed "
        << item.feed_url << ", published " << normalize::format_rfc3339(dedup_time(item))
        << ", story " << (item.story_id ? std::to_string(*item.story_id) : "none") << " ("
        << (item.relation.empty() ? "unassigned" : item.relation) << ")\n";
  };
  describe("A", *a);
  describe("B", *b);
  const auto names_a = dedup::entity_names(a->item.title, body_text(a->item));
  const auto names_b = dedup::entity_names(b->item.title, body_text(b->item));
  std::vector<std::string> shared;
  std::set_intersection(names_a.begin(), names_a.end(), names_b.begin(), names_b.end(),
                        std::back_inserter(shared));
  out << "shared names and numbers:";
  for (const auto& name : shared)
    out << ' ' << name;
  out << (shared.empty() ? " none\n" : "\n");
  if (!merge_of(*a) || !merge_of(*b)) out << "merge = false on a feed: never joined by dedup\n";
  out << dedup::explain(signals, options.threshold);
  const bool together = a->story_id && a->story_id == b->story_id;
  out << "stored: " << (together ? "in the same story" : "in different stories");
  if (a->relation == "manual" || b->relation == "manual") out << " (a person decided)";
  out << "\n";
  return out.str();
}

Result<void> merge_stories(const config::Config& config, std::int64_t into, std::int64_t from) {
  auto stories = open_stories(config, store::OpenMode::read_write);
  if (!stories) return stories.error();
  return (*stories)->merge(into, from, now_utc());
}

Result<std::int64_t> split_story(const config::Config& config, const std::string& link) {
  auto opened = open_stories(config, store::OpenMode::read_write);
  if (!opened) return opened.error();
  auto item = find_item(**opened, link);
  if (!item) return item.error();
  return (*opened)->split(item->id, now_utc());
}

}  // namespace feedmerge::daemon
