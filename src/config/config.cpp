// Reads the TOML config into Config and validates every key (docs/spec/config.md).
// toml++ is compiled here only. Problems are collected, not thrown: check-config shows them
// all, in file order.
#include "feedmerge/config/config.h"

#include "feedmerge/normalize/ascii.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>
#include <limits>
#include <map>

#include <toml++/toml.h>
#include <boost/url.hpp>

#include "config/feed_url.h"
#include "config/file_io.h"
#include "config/toml_syntax_error.h"
#include "config/toml_text.h"
#include "feedmerge/normalize/text.h"

namespace feedmerge::config {
namespace {

using detail::join_key;
using detail::toml_quote;

struct Errors {
  std::vector<Error> list;
  std::vector<std::string>* keys_read = nullptr;  // for known_keys(): every key asked for

  void add(const toml::source_region& where, std::string message) {
    list.push_back(Error{ErrorKind::config, std::move(message), static_cast<int>(where.begin.line),
                         static_cast<int>(where.begin.column)});
  }
};

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string indexed(std::string_view path, std::size_t index) {
  return std::string(path) + "[" + std::to_string(index + 1) + "]";
}

std::string format_number(double value) {
  std::array<char, 32> buffer{};
  auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return ec == std::errc() ? std::string(buffer.data(), end) : std::string("?");
}

bool has_control_character(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
}

// Reads the keys of one table. Every key asked for becomes a known key, so that
// report_unknown_keys() can name the others (with a suggestion when one is close).
class TableReader {
 public:
  TableReader(const toml::table& table, std::string path, Errors& errors)
      : table_(table), path_(std::move(path)), errors_(errors) {}

  const toml::table& table() const { return table_; }
  const std::string& path() const { return path_; }
  std::string path(std::string_view key) const { return join_key(path_, key); }

  const toml::node* get(std::string_view key) {
    known_.emplace_back(key);
    return table_.get(key);
  }

  void error(const toml::node& at, std::string_view key, std::string_view message) {
    errors_.add(at.source(), path(key) + ": " + std::string(message));
  }
  void expected(const toml::node& at, std::string_view key, std::string_view what) {
    error(at, key, "expected " + std::string(what) + ", got " + std::string(type_name(at)));
  }

  // Each read_* leaves `out` alone when the key is absent or its value is invalid, and
  // returns the node it read from when that value was valid.
  const toml::node* read_string(std::string_view key, std::string& out) {
    const toml::node* node = get(key);
    if (node == nullptr) return nullptr;
    if (!node->is_string()) {
      expected(*node, key, "a string");
      return nullptr;
    }
    out = node->as_string()->get();
    return node;
  }

  const toml::node* read_bool(std::string_view key, bool& out) {
    const toml::node* node = get(key);
    if (node == nullptr) return nullptr;
    if (!node->is_boolean()) {
      expected(*node, key, "a boolean (true or false)");
      return nullptr;
    }
    out = node->as_boolean()->get();
    return node;
  }

  template <class Int>
  const toml::node* read_integer(std::string_view key, std::int64_t min, Int& out) {
    const toml::node* node = get(key);
    if (node == nullptr) return nullptr;
    if (!node->is_integer()) {
      expected(*node, key, "an integer");
      return nullptr;
    }
    const std::int64_t value = node->as_integer()->get();
    const auto max = static_cast<std::int64_t>(std::numeric_limits<Int>::max());
    if (value < min) {
      error(*node, key,
            "must be at least " + std::to_string(min) + ", got " + std::to_string(value));
      return nullptr;
    }
    if (value > max) {
      error(*node, key,
            "must be at most " + std::to_string(max) + ", got " + std::to_string(value));
      return nullptr;
    }
    out = static_cast<Int>(value);
    return node;
  }

  const toml::node* read_fraction(std::string_view key, double& out) {
    const toml::node* node = get(key);
    if (node == nullptr) return nullptr;
    double value = 0;
    if (node->is_floating_point()) {
      value = node->as_floating_point()->get();
    } else if (node->is_integer()) {
      value = static_cast<double>(node->as_integer()->get());
    } else {
      expected(*node, key, "a number");
      return nullptr;
    }
    if (!(value >= 0.0 && value <= 1.0)) {
      error(*node, key, "must be between 0 and 1, got " + format_number(value));
      return nullptr;
    }
    out = value;
    return node;
  }

  // Durations are positive everywhere in the file: a zero interval or timeout has no use.
  const toml::node* read_duration(std::string_view key, std::chrono::seconds& out) {
    const toml::node* node = get(key);
    if (node == nullptr) return nullptr;
    const auto value = node->is_string() ? parse_duration(node->as_string()->get()) : std::nullopt;
    if (!value) {
      error(*node, key, "expected a duration like \"30m\"");
      return nullptr;
    }
    if (value->count() == 0) {
      error(*node, key, "must be longer than zero");
      return nullptr;
    }
    out = *value;
    return node;
  }

  const toml::node* read_size(std::string_view key, std::uint64_t& out) {
    const toml::node* node = get(key);
    if (node == nullptr) return nullptr;
    const auto value = node->is_string() ? parse_size(node->as_string()->get()) : std::nullopt;
    if (!value) {
      error(*node, key, "expected a size like \"10MB\"");
      return nullptr;
    }
    if (*value == 0) {
      error(*node, key, "must be larger than zero");
      return nullptr;
    }
    out = *value;
    return node;
  }

  template <class Enum, std::size_t N>
  const toml::node* read_enum(std::string_view key,
                              const std::array<std::pair<std::string_view, Enum>, N>& names,
                              Enum& out) {
    const toml::node* node = get(key);
    if (node == nullptr) return nullptr;
    std::string choices;
    for (const auto& [name, value] : names) {
      if (!choices.empty()) choices += ", ";
      choices += name;
    }
    if (!node->is_string()) {
      expected(*node, key, "one of " + choices);
      return nullptr;
    }
    const std::string_view text = node->as_string()->get();
    for (const auto& [name, value] : names) {
      if (text == name) {
        out = value;
        return node;
      }
    }
    error(*node, key, "expected one of " + choices + ", got " + toml_quote(text));
    return nullptr;
  }

  // An array of non-empty strings; `check` may reject an element with a message.
  template <class Check>
  const toml::node* read_string_array(std::string_view key, std::vector<std::string>& out,
                                      Check check) {
    const toml::node* node = get(key);
    if (node == nullptr) return nullptr;
    const toml::array* array = node->as_array();
    if (array == nullptr) {
      expected(*node, key, "an array of strings");
      return nullptr;
    }
    std::vector<std::string> values;
    bool valid = true;
    for (std::size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      const std::string element_path = indexed(path(key), i);
      if (!element.is_string()) {
        errors_.add(element.source(),
                    element_path + ": expected a string, got " + std::string(type_name(element)));
        valid = false;
        continue;
      }
      const std::string& text = element.as_string()->get();
      std::string problem = text.empty() ? std::string("must not be empty") : check(text);
      if (!problem.empty()) {
        errors_.add(element.source(), element_path + ": " + problem);
        valid = false;
        continue;
      }
      values.push_back(text);
    }
    if (!valid) return nullptr;
    out = std::move(values);
    return node;
  }

  // A sub-table (`[poll]`), or nullptr when absent or not a table (reported).
  const toml::table* read_table(std::string_view key) {
    const toml::node* node = get(key);
    if (node == nullptr) return nullptr;
    if (!node->is_table()) {
      expected(*node, key, "a table ([" + path(key) + "])");
      return nullptr;
    }
    return node->as_table();
  }

  // The tables of an array of tables (`[[feed]]`); false when the value is something else.
  bool read_table_array(std::string_view key, std::vector<const toml::table*>& out) {
    const toml::node* node = get(key);
    if (node == nullptr) return false;
    const toml::array* array = node->as_array();
    if (array == nullptr) {
      expected(*node, key, "an array of tables ([[" + path(key) + "]])");
      return false;
    }
    for (std::size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      if (!element.is_table()) {
        errors_.add(element.source(), indexed(path(key), i) + ": expected a table, got " +
                                          std::string(type_name(element)));
        out.push_back(nullptr);
        continue;
      }
      out.push_back(element.as_table());
    }
    return true;
  }

  void report_unknown_keys() {
    if (errors_.keys_read != nullptr && !path_.empty()) {
      for (const std::string& key : known_)
        errors_.keys_read->push_back(path(key));
    }
    for (auto&& [key, node] : table_) {
      const std::string_view name = key.str();
      if (std::find(known_.begin(), known_.end(), name) != known_.end()) continue;
      std::string message = path(name) + ": unknown key";
      std::string_view closest;
      std::size_t closest_distance = 3;  // suggest only within two edits
      for (const std::string& candidate : known_) {
        const std::size_t distance = normalize::edit_distance(name, candidate);
        if (distance < closest_distance && distance < candidate.size()) {
          closest = candidate;
          closest_distance = distance;
        }
      }
      if (!closest.empty()) message += " (did you mean \"" + std::string(closest) + "\"?)";
      errors_.add(key.source(), std::move(message));
    }
  }

  Errors& errors() { return errors_; }

 private:
  const toml::table& table_;
  std::string path_;
  Errors& errors_;
  std::vector<std::string> known_;
};

// ---- value rules ------------------------------------------------------------------------------

bool is_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return false;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() && value <= 65535;
}

// A language tag as RSS and BCP 47 write it: a primary subtag of 2 or 3 letters ("en",
// "fra"), then optional subtags of 1 to 8 letters or digits ("en-GB", "pt-BR", "zh-Hant").
bool is_language_tag(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && ascii::is_alpha(text[i]))
    ++i;
  if (i < 2 || i > 3) return false;
  while (i < text.size()) {
    if (text[i] != '-') return false;
    const std::size_t start = ++i;
    while (i < text.size() && ascii::is_alnum(text[i]))
      ++i;
    if (i == start || i - start > 8) return false;
  }
  return true;
}

std::string language_problem(const std::string& tag) {
  return is_language_tag(tag)
             ? std::string()
             : "expected a language code like \"en\" or \"pt-BR\", got " + toml_quote(tag);
}

bool is_host_name(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
  });
}

struct ListenAddress {
  std::string host;  // without brackets
  std::string port;
  bool ipv6 = false;
};

std::optional<ListenAddress> parse_listen(std::string_view text) {
  ListenAddress out;
  std::string_view port;
  if (text.starts_with("[")) {
    const std::size_t close = text.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    out.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
    in6_addr address{};
    if (inet_pton(AF_INET6, out.host.c_str(), &address) != 1) return std::nullopt;
    out.ipv6 = true;
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    out.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    if (!is_host_name(out.host)) return std::nullopt;
  }
  if (!is_port(port)) return std::nullopt;
  out.port = std::string(port);
  return out;
}

bool is_web_url(std::string_view text) {
  auto url = boost::urls::parse_absolute_uri(text);
  if (!url) return false;
  const std::string scheme = url->scheme_id() == boost::urls::scheme::http    ? "http"
                             : url->scheme_id() == boost::urls::scheme::https ? "https"
                                                                              : "";
  return !scheme.empty() && !url->encoded_host().empty();
}

bool is_proxy_url(std::string_view text) {
  auto url = boost::urls::parse_absolute_uri(text);
  if (!url || url->encoded_host().empty()) return false;
  std::string scheme(url->scheme());
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static constexpr std::array<std::string_view, 6> kSchemes{"http",    "https",  "socks4",
                                                            "socks4a", "socks5", "socks5h"};
  return std::find(kSchemes.begin(), kSchemes.end(), scheme) != kSchemes.end();
}

// "/feed.xml", "/linux/atom.xml": a URL path that is also a safe relative file name under
// [publish].output_dir.
bool is_output_path(std::string_view path) {
  if (!path.starts_with("/") || path.size() < 2 || path.ends_with("/")) return false;
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    start = end + 1;
  }
  return std::all_of(path.begin(), path.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7F && c != '\\' && c != '?' && c != '#' && c != '%';
  });
}

// RFC 9110 token characters.
bool is_header_name(std::string_view name) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kSpecials.find(c) != std::string_view::npos;
  });
}

// Locale-independent, unlike std::tolower.
std::string lowercase(std::string_view text) {
  return ascii::to_lower(text);
}

// ---- tables -----------------------------------------------------------------------------------

void read_server(TableReader& r, ServerConfig& server) {
  if (const toml::node* node = r.read_string("listen", server.listen)) {
    if (!server.listen.empty() && !parse_listen(server.listen)) {
      r.error(*node, "listen", "expected \"host:port\", \"[IPv6]:port\" or \"\"");
    }
  }
  if (const toml::node* node = r.read_string("base_url", server.base_url)) {
    if (!server.base_url.empty() && !is_web_url(server.base_url)) {
      r.error(*node, "base_url",
              "expected an http or https URL like \"https://news.example.org/\"");
    }
  }
}

constexpr std::array<std::pair<std::string_view, StorageBackend>, 2> kStorageBackends{{
    {"sqlite", StorageBackend::sqlite},
    {"postgresql", StorageBackend::postgresql},
}};

void read_storage(TableReader& r, StorageConfig& storage, const std::string& base_dir) {
  const toml::node* backend = r.read_enum("backend", kStorageBackends, storage.backend);
  if (const toml::node* node = r.read_string("database", storage.database)) {
    if (storage.database.empty()) r.error(*node, "database", "must not be empty");
  }
  const toml::node* url = r.read_string("url", storage.url);
  const toml::node* url_file = r.read_string("url_file", storage.url_file);
  const bool postgresql = storage.backend == StorageBackend::postgresql;
  if (url != nullptr && !storage.url.empty()) {
    if (!postgresql) {
      r.error(*url, "url", "needs " + r.path("backend") + " = \"postgresql\"");
    } else if (!storage.url.starts_with("postgresql://") &&
               !storage.url.starts_with("postgres://")) {
      r.error(*url, "url",
              "expected a URL like \"postgresql://feedmerge@db.example.org/feedmerge\"");
    }
  }
  if (url_file != nullptr && !storage.url_file.empty()) {
    if (!postgresql) {
      r.error(*url_file, "url_file", "needs " + r.path("backend") + " = \"postgresql\"");
    } else if (!storage.url.empty()) {
      r.error(*url_file, "url_file",
              "set " + r.path("url") + " or " + r.path("url_file") + ", not both");
    } else if (!storage.url_file.starts_with("/")) {
      storage.url_file =
          (std::filesystem::path(base_dir) / storage.url_file).lexically_normal().string();
    }
  }
  if (backend != nullptr && postgresql && storage.url.empty() && storage.url_file.empty()) {
    r.error(*backend, "backend",
            "\"postgresql\" needs " + r.path("url") + " or " + r.path("url_file"));
  }
  r.read_duration("retention", storage.retention);
  r.read_integer("max_items_per_feed", 0, storage.max_items_per_feed);
  if (const toml::node* node = r.read_duration("lease", storage.lease)) {
    // Renewed every third of it: shorter than 3 s would renew more than once a second.
    if (storage.lease < std::chrono::seconds{3}) r.error(*node, "lease", "must be at least 3s");
  }
}

// `a` must not exceed `b`; the error points at whichever of the two the file sets (a first).
void check_order(TableReader& r, std::string_view a_key, const toml::node* a_node,
                 std::chrono::seconds a, std::string_view b_key, const toml::node* b_node,
                 std::chrono::seconds b) {
  if (a <= b) return;
  if (a_node != nullptr) {
    r.error(*a_node, a_key,
            "must not be longer than " + r.path(b_key) + " (" + format_duration(b) + ")");
  } else if (b_node != nullptr) {
    r.error(*b_node, b_key,
            "must not be shorter than " + r.path(a_key) + " (" + format_duration(a) + ")");
  }
}

void read_poll(TableReader& r, PollConfig& poll) {
  const toml::node* interval = r.read_duration("interval", poll.interval);
  const toml::node* min_interval = r.read_duration("min_interval", poll.min_interval);
  const toml::node* max_interval = r.read_duration("max_interval", poll.max_interval);
  r.read_integer("concurrency", 1, poll.concurrency);
  r.read_integer("per_host", 1, poll.per_host);
  const toml::node* timeout = r.read_duration("timeout", poll.timeout);
  const toml::node* connect_timeout = r.read_duration("connect_timeout", poll.connect_timeout);
  r.read_size("max_body", poll.max_body);
  if (const toml::node* node = r.read_string("user_agent", poll.user_agent)) {
    if (poll.user_agent.empty()) {
      r.error(*node, "user_agent", "must not be empty");
    } else if (has_control_character(poll.user_agent)) {
      r.error(*node, "user_agent", "must not contain control characters");
    }
  }
  if (const toml::node* node = r.read_string("proxy", poll.proxy)) {
    if (!poll.proxy.empty() && !is_proxy_url(poll.proxy)) {
      r.error(*node, "proxy", "expected a proxy URL like \"http://proxy:3128\"");
    }
  }
  r.read_bool("allow_private_networks", poll.allow_private_networks);

  if (poll.min_interval > poll.max_interval) {
    check_order(r, "min_interval", min_interval, poll.min_interval, "max_interval", max_interval,
                poll.max_interval);
  } else {
    check_order(r, "min_interval", min_interval, poll.min_interval, "interval", interval,
                poll.interval);
    check_order(r, "interval", interval, poll.interval, "max_interval", max_interval,
                poll.max_interval);
  }
  check_order(r, "connect_timeout", connect_timeout, poll.connect_timeout, "timeout", timeout,
              poll.timeout);
}

void read_dedup(TableReader& r, DedupConfig& dedup) {
  r.read_duration("window", dedup.window);
  r.read_fraction("threshold", dedup.threshold);
  if (r.read_string_array("preferred", dedup.preferred, [](const std::string& host) {
        return is_host_name(host)
                   ? std::string()
                   : "expected a host name like \"theverge.com\", got " + toml_quote(host);
      })) {
    for (std::string& host : dedup.preferred)
      host = lowercase(host);
  }
  if (r.read_string_array("languages", dedup.languages, language_problem)) {
    for (std::string& tag : dedup.languages)
      tag = lowercase(tag);
  }
}

void read_publish(TableReader& r, PublishConfig& publish) {
  r.read_string("output_dir", publish.output_dir);
  r.read_bool("sources_opml", publish.sources_opml);
}

constexpr std::array<std::pair<std::string_view, LogLevel>, 5> kLogLevels{{
    {"trace", LogLevel::trace},
    {"debug", LogLevel::debug},
    {"info", LogLevel::info},
    {"warn", LogLevel::warn},
    {"error", LogLevel::error},
}};

constexpr std::array<std::pair<std::string_view, OutputFormat>, 3> kOutputFormats{{
    {"rss", OutputFormat::rss},
    {"atom", OutputFormat::atom},
    {"json", OutputFormat::json},
}};

void read_log(TableReader& r, LogConfig& log) {
  r.read_enum("level", kLogLevels, log.level);
}

// The paths the server answers itself; an output there would be shadowed or shadow them.
// ("/", the index page, is refused before this: it is no file name.)
constexpr std::array<std::string_view, 3> kBuiltInPaths{"/healthz", "/metrics", "/sources.opml"};

void read_output(TableReader& r, OutputConfig& output) {
  if (const toml::node* node = r.read_string("path", output.path)) {
    if (!is_output_path(output.path)) {
      r.error(*node, "path", "expected a URL path like \"/feed.xml\"");
    } else if (std::find(kBuiltInPaths.begin(), kBuiltInPaths.end(), output.path) !=
               kBuiltInPaths.end()) {
      r.error(*node, "path",
              toml_quote(output.path) +
                  " is served by feedmerge itself (/, /healthz, /metrics, /sources.opml); "
                  "choose another path like \"/feed.xml\"");
    }
  }
  r.read_enum("format", kOutputFormats, output.format);
  r.read_string("title", output.title);
  r.read_string("description", output.description);
  if (const toml::node* node = r.read_string("language", output.language)) {
    // "" is the default: the channel declares no language.
    if (const std::string problem =
            output.language.empty() ? std::string() : language_problem(output.language);
        !problem.empty()) {
      r.error(*node, "language", problem);
      output.language.clear();
    }
  }
  r.read_string_array("categories", output.categories,
                      [](const std::string&) { return std::string(); });
  r.read_integer("limit", 1, output.limit);
}

struct FeedContext {
  std::string base_dir;  // relative file: URLs and password files resolve against it
  const PollConfig& poll;
};

// Returns the node of a valid url, for the duplicate check.
const toml::node* read_feed(TableReader& r, FeedConfig& feed, const FeedContext& context) {
  const toml::node* url_node = r.get("url");
  bool is_file = false;
  if (url_node == nullptr) {
    r.errors().add(r.table().source(), r.path("url") + ": missing; every [[feed]] needs a url");
  } else if (!url_node->is_string()) {
    r.expected(*url_node, "url", "a string");
    url_node = nullptr;
  } else {
    const std::string& written = url_node->as_string()->get();
    auto checked = detail::check_feed_url(written, context.base_dir);
    switch (checked.status) {
      case detail::FeedUrlStatus::ok:
        feed.url = std::move(checked.url);
        is_file = checked.is_file;
        break;
      case detail::FeedUrlStatus::unsupported:
        r.error(*url_node, "url",
                "expected an http, https or file URL, got " + toml_quote(written));
        url_node = nullptr;
        break;
      case detail::FeedUrlStatus::file_with_host:
        r.error(*url_node, "url",
                "a file URL names a local file: write \"file:///absolute/path\" or "
                "\"file:relative/path\"");
        url_node = nullptr;
        break;
    }
  }

  r.read_string("title", feed.title);
  r.read_string("category", feed.category);
  std::chrono::seconds interval{};
  if (const toml::node* node = r.read_duration("interval", interval)) {
    feed.interval = interval;
    if (interval < context.poll.min_interval) {
      r.error(*node, "interval",
              "must not be shorter than poll.min_interval (" +
                  format_duration(context.poll.min_interval) + ")");
    } else if (interval > context.poll.max_interval) {
      r.error(*node, "interval",
              "must not be longer than poll.max_interval (" +
                  format_duration(context.poll.max_interval) + ")");
    }
  }
  r.read_bool("enabled", feed.enabled);
  r.read_bool("merge", feed.merge);

  if (const toml::node* node = r.get("headers")) {
    if (!node->is_table()) {
      r.expected(*node, "headers", "a table like { \"X-Api-Key\" = \"...\" }");
    } else if (is_file) {
      r.error(*node, "headers", "a file feed is read from disk and sends no HTTP headers");
    } else {
      const std::string headers_path = r.path("headers");
      std::vector<std::pair<const toml::key*, const toml::node*>> entries;
      for (auto&& [key, value] : *node->as_table())
        entries.emplace_back(&key, &value);
      // toml++ keeps keys sorted; requests send them in the order the file lists them.
      std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        const auto& pa = a.first->source().begin;
        const auto& pb = b.first->source().begin;
        return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
      });
      for (const auto& [key, value] : entries) {
        const std::string path = join_key(headers_path, key->str());
        if (!is_header_name(key->str())) {
          r.errors().add(key->source(), path + ": not a valid HTTP header name");
        } else if (!value->is_string()) {
          r.errors().add(value->source(),
                         path + ": expected a string, got " + std::string(type_name(*value)));
        } else if (has_control_character(value->as_string()->get())) {
          r.errors().add(value->source(), path + ": must not contain control characters");
        } else {
          feed.headers.emplace_back(key->str(), value->as_string()->get());
        }
      }
    }
  }

  if (const toml::node* node = r.read_string("username", feed.username)) {
    if (is_file && !feed.username.empty()) {
      r.error(*node, "username", "a file feed is read from disk and takes no credentials");
    } else if (feed.username.find(':') != std::string::npos ||
               has_control_character(feed.username)) {
      r.error(*node, "username", "must not contain ':' or control characters");
    }
  }
  if (const toml::node* node = r.read_string("password_file", feed.password_file)) {
    if (!feed.password_file.empty()) {
      if (feed.username.empty()) {
        r.error(*node, "password_file", "needs " + r.path("username") + " as well");
      } else if (!feed.password_file.starts_with("/")) {
        feed.password_file = (std::filesystem::path(context.base_dir) / feed.password_file)
                                 .lexically_normal()
                                 .string();
      }
    }
  }
  return url_node;
}

std::string config_directory(std::string_view source_name) {
  std::error_code ec;
  std::filesystem::path path = std::filesystem::absolute(std::filesystem::path(source_name), ec);
  if (ec) path = std::filesystem::path(source_name);
  return path.lexically_normal().parent_path().string();
}

void read_root(const toml::table& root, std::string_view source_name, Config& config,
               Errors& errors) {
  TableReader top(root, "", errors);
  auto section = [&](std::string_view key, auto read) {
    if (const toml::table* table = top.read_table(key)) {
      TableReader reader(*table, std::string(key), errors);
      read(reader);
      reader.report_unknown_keys();
    }
  };
  section("server", [&](TableReader& r) { read_server(r, config.server); });
  section("storage",
          [&](TableReader& r) { read_storage(r, config.storage, config_directory(source_name)); });
  section("poll", [&](TableReader& r) { read_poll(r, config.poll); });
  section("dedup", [&](TableReader& r) { read_dedup(r, config.dedup); });
  section("publish", [&](TableReader& r) { read_publish(r, config.publish); });
  section("log", [&](TableReader& r) { read_log(r, config.log); });

  std::vector<const toml::table*> outputs;
  top.read_table_array("output", outputs);
  if (root.get("output") == nullptr) {
    config.outputs.emplace_back();  // no [[output]] at all: publish the default feed
  }
  std::map<std::string, std::pair<std::size_t, int>> output_paths;  // path -> index, line
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i] == nullptr) continue;
    TableReader reader(*outputs[i], indexed("output", i), errors);
    OutputConfig output;
    output.line = static_cast<int>(outputs[i]->source().begin.line);
    read_output(reader, output);
    reader.report_unknown_keys();
    const auto [seen, inserted] = output_paths.try_emplace(output.path, i, output.line);
    if (!inserted) {
      const toml::node* path_node = outputs[i]->get("path");
      errors.add(path_node != nullptr ? path_node->source() : outputs[i]->source(),
                 indexed("output", i) + ".path: " + toml_quote(output.path) +
                     " is already the path of " + indexed("output", seen->second.first) +
                     " (line " + std::to_string(seen->second.second) + ")");
    }
    config.outputs.push_back(std::move(output));
  }

  std::vector<const toml::table*> feeds;
  top.read_table_array("feed", feeds);
  const FeedContext context{config_directory(source_name), config.poll};
  struct FirstListed {
    std::size_t index;
    const toml::node* url;
  };
  std::map<std::string, FirstListed> feed_urls;  // same_feed_key -> where first listed
  for (std::size_t i = 0; i < feeds.size(); ++i) {
    if (feeds[i] == nullptr) continue;
    TableReader reader(*feeds[i], indexed("feed", i), errors);
    FeedConfig feed;
    feed.line = static_cast<int>(feeds[i]->source().begin.line);
    const toml::node* url_node = read_feed(reader, feed, context);
    reader.report_unknown_keys();
    if (url_node != nullptr) {
      const auto [seen, inserted] =
          feed_urls.try_emplace(detail::same_feed_key(feed.url), FirstListed{i, url_node});
      if (!inserted) {
        // Polling one feed twice stores its items twice; the first table is the one kept.
        const auto& first = seen->second;
        const auto& at = first.url->source().begin;
        const auto& here = url_node->source().begin;
        const std::string first_key = indexed("feed", first.index);
        config.warnings.push_back(
            Warning{static_cast<int>(here.line),
                    indexed("feed", i) + ".url: " + toml_quote(url_node->as_string()->get()) +
                        " is the same feed as " + first_key + ".url " +
                        toml_quote(first.url->as_string()->get()) + " (line " +
                        std::to_string(at.line) + ", column " + std::to_string(at.column) +
                        "); keeping " + first_key + ", ignoring " + indexed("feed", i),
                    static_cast<int>(here.column)});
        continue;
      }
    }
    config.feeds.push_back(std::move(feed));
  }

  top.report_unknown_keys();
}

}  // namespace

ConfigCheck check_config(std::string_view text, std::string_view source_name) {
  ConfigCheck out;
  out.config.source = std::string(source_name);
  toml::table root;
  try {
    root = toml::parse(text, std::string(source_name));
  } catch (const toml::parse_error& e) {
    out.errors.push_back(detail::describe_toml_syntax_error(
        text, e.description(), static_cast<int>(e.source().begin.line),
        static_cast<int>(e.source().begin.column)));
    return out;
  }
  Errors errors;
  read_root(root, source_name, out.config, errors);
  // toml++ keeps tables sorted by key; people read files from the top.
  std::stable_sort(errors.list.begin(), errors.list.end(), [](const Error& a, const Error& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
  out.errors = std::move(errors.list);
  return out;
}

std::vector<std::string> known_keys() {
  // Every table present and empty: each reader asks for all of its keys.
  const toml::table root =
      toml::parse("[server]\n[storage]\n[poll]\n[dedup]\n[publish]\n[log]\n[[output]]\n[[feed]]\n");
  std::vector<std::string> keys;
  Errors errors;
  errors.keys_read = &keys;
  Config config;
  read_root(root, "", config, errors);
  for (std::string& key : keys) {
    if (const std::size_t index = key.find("[1]"); index != std::string::npos) key.erase(index, 3);
  }
  return keys;
}

ConfigCheck check_config_file(const std::string& path) {
  auto text = detail::read_file(path);
  if (!text) {
    ConfigCheck out;
    out.config.source = path;
    out.errors.push_back(text.error());
    return out;
  }
  return check_config(*text, path);
}

Result<Config> parse_config(std::string_view text, std::string_view source_name) {
  ConfigCheck check = check_config(text, source_name);
  if (!check.errors.empty()) return check.errors.front();
  return std::move(check.config);
}

Result<Config> load_config(const std::string& path) {
  ConfigCheck check = check_config_file(path);
  if (!check.errors.empty()) return check.errors.front();
  return std::move(check.config);
}

std::string resolve_database_path(const StorageConfig& storage, std::string_view state_directory) {
  const std::string& database = storage.database;
  if (database.starts_with("/") || database == ":memory:") return database;
  const std::string_view first = state_directory.substr(0, state_directory.find(':'));
  if (first.empty()) return database;
  return (std::filesystem::path(first) / database).string();
}

bool in_categories(std::string_view category, const std::vector<std::string>& wanted) {
  return std::any_of(wanted.begin(), wanted.end(), [category](const std::string& parent) {
    return category == parent || (category.size() > parent.size() && category.starts_with(parent) &&
                                  category[parent.size()] == '/');
  });
}

std::string effective_base_url(const ServerConfig& server) {
  if (!server.base_url.empty()) return server.base_url;
  const auto listen = parse_listen(server.listen);
  if (!listen) return std::string(kNoServerBaseUrl);
  std::string host = listen->host;
  if (host == "0.0.0.0" || host == "::" || host.empty()) {
    host = "localhost";
  } else if (listen->ipv6) {
    host = "[" + host + "]";
  }
  return "http://" + host + ":" + listen->port + "/";
}

}  // namespace feedmerge::config
