// Subscription lists in and out of the config file: OPML 1.0/2.0 to [[feed]] tables
// (`import-opml`), the configured feeds to OPML 2.0 (`export-opml`), and appending feeds to
// a config file without touching what it already says. Pure except append_feeds_to_config.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "feedmerge/config/config.h"
#include "feedmerge/error.h"

namespace feedmerge::config {

// The feeds of an OPML subscription list, in document order. An <outline> with an xmlUrl is a
// feed (title: its title, else its text); one without is a folder, and the folders around a
// feed give its category, joined with "/" ("News/Linux"); a feed outside any folder takes the
// first entry of its OPML 2.0 `category` attribute. feed: URLs become http(s). FeedConfig::line
// is the outline's line. Outlines that cannot be subscribed to (not http or https, a cloud
// metadata address, or the same feed as an earlier outline by the rules of check_config) are
// left out with a warning when `warnings` is given; a feed on a loopback, private or
// link-local address is kept with a warning. ErrorKind::invalid_input, with a position, when
// the bytes are not OPML.
Result<std::vector<FeedConfig>> parse_opml(std::string_view bytes,
                                           std::vector<Warning>* warnings = nullptr);

// One warning per category of `feeds` that no [[output]] filtering by category takes (see
// in_categories), at the line of its first feed: such feeds reach only the outputs without a
// filter. None when no output filters by category.
std::vector<Warning> unpublished_categories(const std::vector<FeedConfig>& feeds,
                                            const std::vector<OutputConfig>& outputs);

// The [[feed]] tables for `feeds`, keys left at their defaults omitted, a blank line between
// tables. "" for no feeds.
std::string feeds_to_toml(const std::vector<FeedConfig>& feeds);

struct OpmlListing {
  // The feeds' own titles (from the database), by configured URL: the name of a feed whose
  // [[feed]] gives no title. A feed with neither is named by its URL.
  std::map<std::string, std::string, std::less<>> own_titles;
  // For /sources.opml, which anyone may read: URLs pass normalize::redact_url, and a local
  // (file:) feed is listed by name only, without an xmlUrl. `export-opml` (the operator's
  // own copy, for moving to another reader) keeps the URLs as configured.
  bool public_listing = false;
};

// OPML 2.0 listing `feeds` (disabled ones too; each by its url, title and category);
// categories become nested folder outlines in the order they first appear.
std::string feeds_to_opml(const std::vector<FeedConfig>& feeds, const OpmlListing& listing = {});
// feeds_to_opml of every configured feed.
std::string config_to_opml(const Config& config, const OpmlListing& listing = {});

// A feed append_feeds_to_config left out, and the one it is the same feed as.
struct SkippedFeed {
  std::string url;
  int line = 0;  // FeedConfig::line of the feed given
  std::string listed_url;
  int listed_line = 0;    // the line of the config's [[feed]], or of the feed given first
  bool in_config = true;  // false: given twice in `feeds`
};

struct AppendResult {
  std::string backup_path;  // "" when nothing was appended (and nothing written)
  std::size_t appended = 0;
  std::size_t skipped = 0;  // already configured, or given twice
  std::vector<SkippedFeed> skipped_feeds;
};

// Appends [[feed]] tables for the `feeds` the config file does not list yet (the same feed by
// the rules of check_config: the one configured is kept). The
// file's text is kept byte for byte (comments and all) and the tables are added after it; the
// result is checked with parse_config before anything is written; the old text is saved to a
// backup (see AppendResult), then the file is replaced atomically. The config must be valid
// to start with: its errors are returned as they are.
Result<AppendResult> append_feeds_to_config(const std::string& config_path,
                                            const std::vector<FeedConfig>& feeds);

}  // namespace feedmerge::config
