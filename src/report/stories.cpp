#include "feedmerge/report/stories.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <tuple>

#include <boost/json.hpp>

#include "feedmerge/dedup/features.h"
#include "feedmerge/dedup/story_index.h"
#include "feedmerge/normalize/date.h"
#include "feedmerge/normalize/text.h"

namespace feedmerge::report {
namespace {

// The members in publication order (the store's order, before it put the representative
// first), and the representative.
std::vector<const model::StoryMember*> by_publication(const model::Story& story) {
  std::vector<const model::StoryMember*> members;
  for (const model::StoryMember& member : story.members)
    members.push_back(&member);
  std::stable_sort(members.begin(), members.end(), [](const auto* a, const auto* b) {
    return std::tie(*a->item.published, a->item_id) < std::tie(*b->item.published, b->item_id);
  });
  return members;
}

const std::string& item_id(const model::StoryMember& member) {
  return member.item.id.empty() ? member.key : member.item.id;
}

Result<store::StoredItem> find_item(store::Store& store, const std::string& link) {
  auto items = store.items_with_link(link);
  if (!items) return items.error();
  if (items->empty()) {
    return Error{ErrorKind::invalid_input, link + ": no stored item has this link"};
  }
  return items->front();
}

boost::json::object joined_by_json(const model::Story& story, const model::StoryMember& member) {
  boost::json::object joined{{"reason", model::shown_reason(member.joined_by)}};
  if (const model::StoryMember* matched = model::matched_member(story, member)) {
    joined["item"] = item_id(*matched);
    joined["feed"] = matched->feed_url;
    joined["title"] = matched->item.title;
    joined["p"] = member.joined_by.p;
  }
  return joined;
}

// At most `bytes` of `text`, cut at a character boundary, "..." when cut.
std::string shortened(const std::string& text, std::size_t bytes) {
  if (text.size() <= bytes) return text;
  std::size_t end = bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
    --end;
  return text.substr(0, end) + "...";
}

std::string joined_by_text(const model::Story& story, const model::StoryMember& member) {
  const model::StoryMember* matched = model::matched_member(story, member);
  std::string text(model::shown_reason(member.joined_by));
  if (member.joined_by.reason == "merged_by_hand") text = "merged by hand";
  if (matched != nullptr) {
    char p[16];
    std::snprintf(p, sizeof p, "%.2f", member.joined_by.p);
    if (member.joined_by.reason == "link") text = "";
    if (member.joined_by.reason == "same_url") text = "same URL, ";
    if (member.joined_by.reason == "merged_by_hand") text += ", ";
    text += std::string("P ") + p + " with \"" + shortened(matched->item.title, 48) + "\"";
  }
  return text;
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

Result<std::unique_ptr<store::Store>> open_if_present(const std::string& database,
                                                      store::OpenMode mode) {
  if (!store::is_postgresql_url(database) && !std::filesystem::exists(database))
    return std::unique_ptr<store::Store>();
  return store::open_store(database, mode);
}

Result<std::vector<model::Story>> list_stories(const std::string& database,
                                               std::optional<model::Time> since) {
  auto store = open_if_present(database, store::OpenMode::read_only);
  if (!store) return store.error();
  if (!*store) return std::vector<model::Story>();  // no database yet: no stories yet
  return (*store)->list_stories(since);
}

std::string stories_json(const std::vector<model::Story>& stories) {
  boost::json::array list;
  for (const model::Story& story : stories) {
    const model::StoryMember& shown = story.members.front();
    boost::json::array items;
    for (const model::StoryMember* member : by_publication(story)) {
      boost::json::value published = nullptr;
      if (!member->published_estimated)
        published = normalize::format_rfc3339(*member->item.published);
      items.push_back(boost::json::object{{"feed", member->feed_url},
                                          {"id", item_id(*member)},
                                          {"link", member->item.link},
                                          {"title", member->item.title},
                                          {"published", std::move(published)},
                                          {"joined_by", joined_by_json(story, *member)}});
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

std::string stories_text(const std::vector<model::Story>& stories) {
  std::ostringstream out;
  for (const model::Story& story : stories) {
    const model::StoryMember& shown = story.members.front();
    out << "story " << story.id << ": " << shown.item.title << "\n  " << shown.item.link
        << "\n  first published " << normalize::format_rfc3339(story.first_published)
        << ", updated " << normalize::format_rfc3339(story.updated) << ", " << story.members.size()
        << (story.members.size() == 1 ? " item\n" : " items\n");
    for (const model::StoryMember* member : by_publication(story)) {
      out << "    " << (member->item_id == shown.item_id ? "* " : "- ")
          << normalize::format_rfc3339(*member->item.published) << "  " << member->item.title
          << "  (" << (member->relation.empty() ? "?" : member->relation) << "; "
          << joined_by_text(story, *member) << ")\n      " << member->item.link << "\n";
    }
    out << "\n";
  }
  return out.str();
}

Result<std::string> explain_pair(const config::Config& config, store::Store& store,
                                 const std::string& link_a, const std::string& link_b) {
  auto a = find_item(store, link_a);
  if (!a) return a.error();
  auto b = find_item(store, link_b);
  if (!b) return b.error();

  dedup::DedupOptions options;
  options.window = config.dedup.window;
  options.threshold = config.dedup.threshold;
  options.preferred = config.dedup.preferred;
  dedup::StoryIndex index(options);
  auto merge_of = [&](const store::StoredItem& item) {
    for (const auto& feed : config.feeds)
      if (feed.url == item.feed_url) return feed.merge;
    return true;
  };
  auto candidate = [&](const store::StoredItem& item) {
    dedup::Candidate made = dedup::make_candidate(item.item, item.id, item.feed_id, merge_of(item),
                                                  store::dedup_time(item));
    if (made.guid.empty()) made.guid = item.key;  // as the daemon knows it (StoryAssigner)
    return made;
  };
  // The term statistics of the items around the pair, as the daemon saw them.
  const model::Time ta = store::dedup_time(*a);
  const model::Time tb = store::dedup_time(*b);
  auto around = store.assigned_between(std::min(ta, tb) - 2 * options.window,
                                       std::max(ta, tb) + options.window);
  if (!around) return around.error();
  for (const store::StoredItem& item : *around)
    index.add(candidate(item), *item.story_id, dedup::Relation::report);

  const dedup::Signals signals = index.compare(candidate(*a), candidate(*b));
  std::ostringstream out;
  auto describe = [&](const char* name, const store::StoredItem& item) {
    out << name << ": " << item.item.title << "\n   " << item.item.link << "\n   feed "
        << item.feed_url << ", published " << normalize::format_rfc3339(store::dedup_time(item))
        << ", story " << (item.story_id ? std::to_string(*item.story_id) : "none") << " ("
        << (item.relation.empty() ? "unassigned" : item.relation) << ")\n";
    if (!item.story_id) return;
    // Why it is in its story, as `stories --json` says (joined_by).
    out << "   joined by: " << model::shown_reason(item.joined_by);
    if (item.joined_by.item) {
      const auto matched = std::find_if(
          around->begin(), around->end(),
          [&](const store::StoredItem& other) { return other.id == *item.joined_by.item; });
      char p[16];
      std::snprintf(p, sizeof p, "%.2f", item.joined_by.p);
      out << ", P " << p << " with "
          << (matched != around->end() ? matched->item.link
                                       : "item " + std::to_string(*item.joined_by.item));
    }
    out << "\n";
  };
  describe("A", *a);
  describe("B", *b);
  // A Title Case headline's names come from how the other items write its capitals.
  auto names_of = [&](const char* which, const store::StoredItem& item) {
    auto names = dedup::entity_names(item.item.title, body_text(item.item));
    std::vector<std::string> lexicon;
    for (const auto& capital : dedup::title_capital_words(item.item.title, body_text(item.item))) {
      if (index.written_as_name(capital)) lexicon.push_back(capital.word);
    }
    if (!lexicon.empty()) {
      out << which << "'s Title Case headline: names as other items write them:";
      for (const auto& name : lexicon)
        out << ' ' << name;
      out << "\n";
      names.insert(names.end(), lexicon.begin(), lexicon.end());
      std::sort(names.begin(), names.end());
      names.erase(std::unique(names.begin(), names.end()), names.end());
    }
    return names;
  };
  const auto names_a = names_of("A", *a);
  const auto names_b = names_of("B", *b);
  std::vector<std::string> shared;
  std::set_intersection(names_a.begin(), names_a.end(), names_b.begin(), names_b.end(),
                        std::back_inserter(shared));
  out << "shared names and numbers:";
  for (const auto& name : shared)
    out << ' ' << name;
  out << (shared.empty() ? " none\n" : "\n");
  if (!merge_of(*a) || !merge_of(*b)) out << "merge = false on a feed: never joined by dedup\n";
  out << dedup::explain(signals, index.model(), index.threshold());
  const bool together = a->story_id && a->story_id == b->story_id;
  out << "stored: " << (together ? "in the same story" : "in different stories");
  if (a->relation == "manual" || b->relation == "manual") out << " (a person decided)";
  out << "\n";
  return out.str();
}

Result<void> merge_stories(store::Store& store, std::int64_t into, std::int64_t from,
                           model::Time now) {
  return store.merge(into, from, now);
}

Result<std::int64_t> split_story(store::Store& store, const std::string& link, model::Time now) {
  auto item = find_item(store, link);
  if (!item) return item.error();
  return store.split(item->id, now);
}

}  // namespace feedmerge::report
