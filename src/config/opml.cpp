// OPML subscription lists (OPML 1.0 and 2.0, http://opml.org/spec2.opml) to and from the
// config's [[feed]] tables, and appending feeds to a config file as text.
#include "feedmerge/config/opml.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/url.hpp>
#include <pugixml.hpp>

#include "config/feed_url.h"
#include "config/file_io.h"
#include "config/toml_text.h"
#include "feedmerge/fetch/address_guard.h"
#include "feedmerge/normalize/encoding.h"
#include "feedmerge/normalize/text.h"
#include "feedmerge/normalize/url.h"

namespace feedmerge::config {
namespace {

using detail::toml_key;
using detail::toml_quote;

// Folders deeper than this are not a subscription list a person made.
constexpr int kMaxOutlineDepth = 64;

struct Position {
  int line = 0;
  int column = 0;
};

// 1-based line and column (in code points) of a byte offset into `text`.
Position position_at(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  Position position{1, 1};
  for (std::size_t i = 0; i < offset; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++position.line;
      position.column = 1;
    } else if ((c & 0xC0) != 0x80) {
      ++position.column;
    }
  }
  return position;
}

bool equals_ignoring_ascii_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Exporters disagree on the case of attribute names (xmlUrl, xmlurl, XMLURL).
pugi::xml_attribute attribute(pugi::xml_node node, std::string_view name) {
  for (pugi::xml_attribute a : node.attributes()) {
    if (equals_ignoring_ascii_case(a.name(), name)) return a;
  }
  return {};
}

std::string attribute_text(pugi::xml_node node, std::string_view name) {
  return normalize::collapse_whitespace(attribute(node, name).value());
}

std::string subscription_url(std::string_view xml_url) {
  return detail::subscription_url(normalize::collapse_whitespace(xml_url));
}

// Where a feed URL's host points, when that is known without asking DNS: an IP address in any
// form the resolver reads, "localhost" and names under it (RFC 6761), and the cloud metadata
// services' names. nullopt for other names (an OPML file is read without network access).
struct HostNetwork {
  fetch::AddressClass kind = fetch::AddressClass::public_address;
  std::string address;  // the address, or the name that says where it points
};

std::optional<HostNetwork> host_network(std::string_view url) {
  const std::string identity = normalize::feed_identity(url);
  auto parsed = boost::urls::parse_uri(identity);
  if (!parsed) return std::nullopt;
  const std::string host(std::string_view(parsed->encoded_host_address()));
  switch (parsed->host_type()) {
    case boost::urls::host_type::ipv4: {
      sockaddr_in v4{};
      v4.sin_family = AF_INET;
      if (inet_pton(AF_INET, host.c_str(), &v4.sin_addr) != 1) return std::nullopt;
      return HostNetwork{fetch::classify_address(reinterpret_cast<const sockaddr*>(&v4)), host};
    }
    case boost::urls::host_type::ipv6: {
      sockaddr_in6 v6{};
      v6.sin6_family = AF_INET6;
      if (inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) != 1) return std::nullopt;
      return HostNetwork{fetch::classify_address(reinterpret_cast<const sockaddr*>(&v6)), host};
    }
    case boost::urls::host_type::name:
      if (host == "localhost" || host.ends_with(".localhost")) {
        return HostNetwork{fetch::AddressClass::loopback, host};
      }
      if (host == "metadata.google.internal" || host == "metadata.goog") {
        return HostNetwork{fetch::AddressClass::cloud_metadata, host};
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

class OpmlReader {
 public:
  OpmlReader(std::string_view text, std::vector<Warning>* warnings)
      : text_(text), warnings_(warnings) {}

  Result<std::vector<FeedConfig>> read(pugi::xml_node body) {
    std::vector<std::string> folders;
    if (auto walked = walk(body, folders, 1); !walked) return walked.error();
    return std::move(feeds_);
  }

 private:
  Position position_of(pugi::xml_node node) const {
    const std::ptrdiff_t offset = node.offset_debug();
    if (offset <= 0) return {};
    // offset_debug points after the '<'.
    return position_at(text_, static_cast<std::size_t>(offset - 1));
  }

  void warn(int line, std::string message) {
    if (warnings_ != nullptr) warnings_->push_back(Warning{line, std::move(message)});
  }

  Result<void> walk(pugi::xml_node parent, std::vector<std::string>& folders, int depth) {
    for (pugi::xml_node outline : parent.children("outline")) {
      if (depth > kMaxOutlineDepth) {
        const Position at = position_of(outline);
        return Error{ErrorKind::too_deep,
                     "outlines nested deeper than " + std::to_string(kMaxOutlineDepth) + " levels",
                     at.line, at.column};
      }
      const pugi::xml_attribute xml_url = attribute(outline, "xmlUrl");
      if (xml_url) {
        add_feed(outline, xml_url.value(), folders);
        if (auto walked = walk(outline, folders, depth + 1); !walked) return walked;
        continue;
      }
      std::string name = attribute_text(outline, "text");
      if (name.empty()) name = attribute_text(outline, "title");
      const bool named = !name.empty();  // an unnamed folder adds no category level
      if (named) folders.push_back(std::move(name));
      auto walked = walk(outline, folders, depth + 1);
      if (named) folders.pop_back();
      if (!walked) return walked;
    }
    return {};
  }

  void add_feed(pugi::xml_node outline, std::string_view xml_url,
                const std::vector<std::string>& folders) {
    FeedConfig feed;
    feed.line = position_of(outline).line;
    feed.url = subscription_url(xml_url);
    feed.title = attribute_text(outline, "title");
    if (feed.title.empty()) feed.title = attribute_text(outline, "text");
    const std::string shown = feed.title.empty() ? feed.url : feed.title;

    const auto checked = detail::check_feed_url(feed.url, "");
    if (checked.status != detail::FeedUrlStatus::ok || checked.is_file) {
      warn(feed.line, "skipped " + toml_quote(shown) +
                          ": expected an http or https feed URL, got " + toml_quote(feed.url));
      return;
    }
    const auto [seen, inserted] = lines_.try_emplace(detail::same_feed_key(feed.url), feed.line);
    if (!inserted) {
      warn(feed.line, "skipped " + toml_quote(feed.url) + ": already listed on line " +
                          std::to_string(seen->second));
      return;
    }
    // A shared subscription list can aim the daemon at this machine, its network or the cloud
    // provider's metadata service (SSRF): the first three are imported with a word, the last
    // never.
    if (const auto network = host_network(feed.url)) {
      const std::string where =
          std::string(fetch::to_string(network->kind)) + " address (" + network->address + ")";
      switch (network->kind) {
        case fetch::AddressClass::cloud_metadata:
          warn(feed.line, "skipped " + toml_quote(feed.url) + ": a cloud metadata address (" +
                              network->address + "), which feedmerge never fetches");
          lines_.erase(seen);
          return;
        case fetch::AddressClass::loopback:
        case fetch::AddressClass::private_network:
        case fetch::AddressClass::link_local:
          warn(feed.line, toml_quote(feed.url) + " is on a " + where +
                              ": imported, but check that you meant this machine or its "
                              "network");
          break;
        default:
          break;
      }
    }

    for (const std::string& folder : folders) {
      if (!feed.category.empty()) feed.category += '/';
      feed.category += folder;
    }
    if (feed.category.empty()) {
      // OPML 2.0: comma-separated, each a "/"-delimited path ("/Tech/News,/Linux").
      std::string category = attribute(outline, "category").value();
      category = category.substr(0, category.find(','));
      const std::size_t start = category.find_first_not_of('/');
      const std::size_t end = category.find_last_not_of('/');
      if (start != std::string::npos) {
        feed.category = normalize::collapse_whitespace(category.substr(start, end - start + 1));
      }
    }
    feeds_.push_back(std::move(feed));
  }

  std::string_view text_;
  std::vector<Warning>* warnings_;
  std::vector<FeedConfig> feeds_;
  std::map<std::string, int> lines_;  // URL identity -> line, to skip a feed listed twice
};

// Attribute values for XML 1.0: valid UTF-8, no control characters it forbids.
std::string xml_text(std::string_view text) {
  std::string out = normalize::make_valid_utf8(text);
  std::erase_if(out, [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 && c != '\t' && c != '\n' && c != '\r';
  });
  return out;
}

// A folder of the exported outline tree: its feeds and sub-folders, in first-seen order.
struct Folder {
  std::string name;
  std::vector<std::pair<bool, std::size_t>> entries;  // (is_feed, index into feeds/folders)
};

// The name a feed's outline shows: the config's title, else the feed's own, else its URL (in a
// public listing: redacted, and only the file name of a local feed).
std::string outline_title(const FeedConfig& feed, const OpmlListing& listing) {
  if (!feed.title.empty()) return feed.title;
  if (const auto found = listing.own_titles.find(feed.url); found != listing.own_titles.end()) {
    std::string own = normalize::collapse_whitespace(found->second);
    if (!own.empty()) return own;
  }
  if (!listing.public_listing) return feed.url;
  if (normalize::is_file_url(feed.url)) return feed.url.substr(feed.url.find_last_of('/') + 1);
  return normalize::redact_url(feed.url);
}

void write_folder(const std::vector<Folder>& folders, std::size_t index,
                  const std::vector<FeedConfig>& feeds, const OpmlListing& listing,
                  pugi::xml_node parent) {
  for (const auto& [is_feed, entry] : folders[index].entries) {
    pugi::xml_node outline = parent.append_child("outline");
    if (is_feed) {
      const FeedConfig& feed = feeds[entry];
      const std::string text = xml_text(outline_title(feed, listing));
      // A local feed in a public listing is named, not located: no xmlUrl, so not type="rss".
      const bool located = !listing.public_listing || !normalize::is_file_url(feed.url);
      if (located) outline.append_attribute("type").set_value("rss");
      outline.append_attribute("text").set_value(text.c_str());
      outline.append_attribute("title").set_value(text.c_str());
      if (located) {
        const std::string url =
            xml_text(listing.public_listing ? normalize::redact_url(feed.url) : feed.url);
        outline.append_attribute("xmlUrl").set_value(url.c_str());
      }
    } else {
      const std::string name = xml_text(folders[entry].name);
      outline.append_attribute("text").set_value(name.c_str());
      outline.append_attribute("title").set_value(name.c_str());
      write_folder(folders, entry, feeds, listing, outline);
    }
  }
}

std::string with_line_ending(std::string_view text, std::string_view newline) {
  if (newline == "\n") return std::string(text);
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += newline;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

Result<std::vector<FeedConfig>> parse_opml(std::string_view bytes, std::vector<Warning>* warnings) {
  const normalize::DecodedText decoded = normalize::decode_xml(bytes, "");
  const std::string& text = decoded.utf8;
  pugi::xml_document document;
  // parse_default reads no DOCTYPE: no entity from the document is ever expanded.
  const pugi::xml_parse_result parsed =
      document.load_buffer(text.data(), text.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!parsed) {
    const Position at = position_at(text, static_cast<std::size_t>(parsed.offset));
    return Error{ErrorKind::invalid_input,
                 std::string("not well-formed XML: ") + parsed.description(), at.line, at.column};
  }
  const pugi::xml_node root = document.document_element();
  const Position root_at = position_at(
      text, root.offset_debug() > 0 ? static_cast<std::size_t>(root.offset_debug() - 1) : 0);
  if (!equals_ignoring_ascii_case(root.name(), "opml")) {
    return Error{ErrorKind::invalid_input,
                 "not an OPML document: the root element is <" + std::string(root.name()) + ">",
                 root_at.line, root_at.column};
  }
  const pugi::xml_node body = root.child("body");
  if (!body) {
    return Error{ErrorKind::invalid_input, "an OPML document needs a <body>", root_at.line,
                 root_at.column};
  }
  return OpmlReader(text, warnings).read(body);
}

std::vector<Warning> unpublished_categories(const std::vector<FeedConfig>& feeds,
                                            const std::vector<OutputConfig>& outputs) {
  std::vector<std::string> wanted;  // every category some output filters by, in file order
  for (const OutputConfig& output : outputs) {
    for (const std::string& category : output.categories) {
      if (std::find(wanted.begin(), wanted.end(), category) == wanted.end()) {
        wanted.push_back(category);
      }
    }
  }
  std::vector<Warning> warnings;
  if (wanted.empty()) return warnings;
  const bool unfiltered_output = std::any_of(outputs.begin(), outputs.end(),
                                             [](const auto& o) { return o.categories.empty(); });
  std::string listed;
  for (const std::string& category : wanted) {
    if (!listed.empty()) listed += ", ";
    listed += toml_quote(category);
  }
  std::set<std::string> reported;
  for (const FeedConfig& feed : feeds) {
    if (feed.category.empty() || in_categories(feed.category, wanted)) continue;
    if (!reported.insert(feed.category).second) continue;
    warnings.push_back(Warning{
        feed.line, "category " + toml_quote(feed.category) +
                       " matches no [[output]] categories (they are " + listed + "): its feeds " +
                       (unfiltered_output ? "appear only in the outputs without categories"
                                          : "appear in no output")});
  }
  return warnings;
}

std::string feeds_to_toml(const std::vector<FeedConfig>& feeds) {
  std::string out;
  for (const FeedConfig& feed : feeds) {
    if (!out.empty()) out += '\n';
    out += "[[feed]]\n";
    out += "url = " + toml_quote(feed.url) + "\n";
    if (!feed.title.empty()) out += "title = " + toml_quote(feed.title) + "\n";
    if (!feed.category.empty()) out += "category = " + toml_quote(feed.category) + "\n";
    if (feed.interval) out += "interval = " + toml_quote(format_duration(*feed.interval)) + "\n";
    if (!feed.enabled) out += "enabled = false\n";
    if (!feed.merge) out += "merge = false\n";
    if (!feed.headers.empty()) {
      out += "headers = {";
      for (std::size_t i = 0; i < feed.headers.size(); ++i) {
        out += i == 0 ? " " : ", ";
        out += toml_key(feed.headers[i].first) + " = " + toml_quote(feed.headers[i].second);
      }
      out += " }\n";
    }
    if (!feed.username.empty()) out += "username = " + toml_quote(feed.username) + "\n";
    if (!feed.password_file.empty()) {
      out += "password_file = " + toml_quote(feed.password_file) + "\n";
    }
  }
  return out;
}

std::string config_to_opml(const Config& config, const OpmlListing& listing) {
  return feeds_to_opml(config.feeds, listing);
}

std::string feeds_to_opml(const std::vector<FeedConfig>& feeds, const OpmlListing& listing) {
  std::vector<Folder> folders(1);  // folders[0] is <body>
  for (std::size_t i = 0; i < feeds.size(); ++i) {
    std::size_t folder = 0;
    std::string_view rest = feeds[i].category;
    while (!rest.empty()) {
      const std::size_t slash = rest.find('/');
      const std::string_view name = rest.substr(0, slash);
      rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
      if (name.empty()) continue;
      std::size_t child = 0;
      for (const auto& [is_feed, entry] : folders[folder].entries) {
        if (!is_feed && folders[entry].name == name) child = entry;
      }
      if (child == 0) {
        child = folders.size();
        folders.push_back(Folder{std::string(name), {}});
        folders[folder].entries.emplace_back(false, child);
      }
      folder = child;
    }
    folders[folder].entries.emplace_back(true, i);
  }

  pugi::xml_document document;
  pugi::xml_node declaration = document.append_child(pugi::node_declaration);
  declaration.append_attribute("version").set_value("1.0");
  declaration.append_attribute("encoding").set_value("UTF-8");
  pugi::xml_node opml = document.append_child("opml");
  opml.append_attribute("version").set_value("2.0");
  pugi::xml_node head = opml.append_child("head");
  head.append_child("title").text().set("feedmerge subscriptions");
  pugi::xml_node body = opml.append_child("body");
  write_folder(folders, 0, feeds, listing, body);
  std::ostringstream out;
  document.save(out, "  ", pugi::format_indent, pugi::encoding_utf8);
  return out.str();
}

Result<AppendResult> append_feeds_to_config(const std::string& config_path,
                                            const std::vector<FeedConfig>& feeds) {
  auto text = detail::read_file(config_path);
  if (!text) return text.error();
  auto config = parse_config(*text, config_path);
  if (!config) return config.error();

  AppendResult result;
  struct Listed {
    const FeedConfig* feed;
    bool in_config;
  };
  std::map<std::string, Listed> known;  // same_feed_key -> the feed kept
  for (const FeedConfig& feed : config->feeds)
    known.try_emplace(detail::same_feed_key(feed.url), Listed{&feed, true});
  std::vector<FeedConfig> fresh;
  for (const FeedConfig& feed : feeds) {
    const auto [seen, inserted] =
        known.try_emplace(detail::same_feed_key(feed.url), Listed{&feed, false});
    if (inserted) {
      fresh.push_back(feed);
    } else {
      ++result.skipped;
      const Listed& listed = seen->second;
      result.skipped_feeds.push_back(
          {feed.url, feed.line, listed.feed->url, listed.feed->line, listed.in_config});
    }
  }
  if (fresh.empty()) return result;

  // Appending text, not re-serialising the table, is what keeps every comment and blank line.
  const std::string_view newline = text->find("\r\n") != std::string::npos ? "\r\n" : "\n";
  std::string updated = *text;
  if (!updated.empty()) {
    if (!updated.ends_with('\n')) updated += newline;
    updated += newline;
  }
  updated += with_line_ending("# Added by feedmerge import-opml\n" + feeds_to_toml(fresh), newline);
  if (auto check = parse_config(updated, config_path); !check) {
    Error error = check.error();
    error.message = "the feeds cannot be appended to this file: " + error.message;
    return error;
  }

  auto backup = detail::write_backup(config_path, *text);
  if (!backup) return backup.error();
  if (auto replaced = detail::replace_file(config_path, updated); !replaced) {
    return replaced.error();
  }
  result.backup_path = std::move(*backup);
  result.appended = fresh.size();
  return result;
}

}  // namespace feedmerge::config
