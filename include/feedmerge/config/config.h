// The feedmerge config file (docs/spec/config.md): plain value structs holding the spec's
// defaults, and the loader that reads TOML into them and validates every key. Only the
// *_file functions touch the disk. Values are thread-compatible; functions are reentrant.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "feedmerge/error.h"

namespace feedmerge::config {

inline constexpr std::string_view kDefaultConfigPath = "/etc/feedmerge/feedmerge.toml";
// Sent with every fetch unless [poll].user_agent says otherwise.
inline constexpr std::string_view kDefaultUserAgent = "feedmerge/0.1.0";
// The public URL assumed when neither [server] base_url nor listen gives one.
inline constexpr std::string_view kNoServerBaseUrl = "http://localhost/";

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";  // "host:port" or "[v6]:port"; "" = no HTTP server
  std::string base_url;                   // "" = derived from listen (effective_base_url)

  bool operator==(const ServerConfig&) const = default;
};

enum class StorageBackend { sqlite, postgresql };

struct StorageConfig {
  StorageBackend backend = StorageBackend::sqlite;
  std::string database = "feedmerge.db";  // sqlite: resolve with resolve_database_path
  // postgresql: the server's URL ("postgresql://..."), or a file holding it (for systemd
  // credentials; made absolute against the config file's folder, read when the store opens).
  // Exactly one is set when backend is postgresql, neither otherwise.
  std::string url;
  std::string url_file;
  std::chrono::seconds retention = std::chrono::days{30};
  std::int64_t max_items_per_feed = 2000;  // 0 = no limit
  // postgresql: how long a `run` holds the feeds of a host it claimed without renewing them
  // (it renews every third of it); a dead process's feeds go to the others within about this.
  std::chrono::seconds lease = std::chrono::seconds{60};

  bool operator==(const StorageConfig&) const = default;
};

struct PollConfig {
  std::chrono::seconds interval = std::chrono::minutes{30};
  std::chrono::seconds min_interval = std::chrono::minutes{5};
  std::chrono::seconds max_interval = std::chrono::hours{24};
  int concurrency = 32;                                     // fetches in flight at once
  int per_host = 2;                                         // fetches in flight per host
  std::chrono::seconds timeout = std::chrono::seconds{30};  // the whole request
  std::chrono::seconds connect_timeout = std::chrono::seconds{10};
  std::uint64_t max_body = 10'000'000;  // bytes, after decompression
  std::string user_agent = std::string(kDefaultUserAgent);
  std::string proxy;  // "" = no proxy
  bool allow_private_networks = false;

  bool operator==(const PollConfig&) const = default;
};

struct DedupConfig {
  std::chrono::seconds window = std::chrono::hours{72};
  // 0..1; its meaning belongs to the dedup stage: the default is its fitted model's
  // (dedup::default_pair_model().threshold; a test keeps the two equal).
  double threshold = 0.25;
  std::vector<std::string> preferred;  // hosts preferred as a story's representative
  // Languages a reader prefers for headlines, first the most preferred (tags, lowercased:
  // "en", "pt-br"); [] = the representative the story stage chose.
  std::vector<std::string> languages;

  bool operator==(const DedupConfig&) const = default;
};

struct PublishConfig {
  std::string output_dir;    // "" = serve over HTTP only
  bool sources_opml = true;  // serve /sources.opml, the subscription list (URLs redacted)

  bool operator==(const PublishConfig&) const = default;
};

enum class LogLevel { trace, debug, info, warn, error };

struct LogConfig {
  LogLevel level = LogLevel::info;

  bool operator==(const LogConfig&) const = default;
};

enum class OutputFormat { rss, atom, json };

struct OutputConfig {
  std::string path = "/feed.xml";  // URL path, and the file name under output_dir
  OutputFormat format = OutputFormat::rss;
  std::string title = "Tech news, merged";
  std::string description;
  std::string language;                 // the channel's language tag; "" = unsaid (words: en)
  std::vector<std::string> categories;  // empty = every category
  int limit = 100;                      // stories in the output
  int line = 0;                         // where its [[output]] table starts; 0 = not from a file

  bool operator==(const OutputConfig&) const = default;
};

struct FeedConfig {
  // The feed's identity, as written, except that a relative file: URL ("file:samples/a.rss")
  // is resolved against the config file's folder into an absolute file:/// URL.
  std::string url;
  std::string title;     // "" = the feed's own title
  std::string category;  // "" = none; "/" separates nested categories ("news/linux")
  std::optional<std::chrono::seconds> interval;  // overrides [poll].interval
  bool enabled = true;
  bool merge = true;  // false: its items never join stories with other feeds
  std::vector<std::pair<std::string, std::string>> headers;  // in file order
  std::string username;                                      // HTTP basic auth
  std::string password_file;  // made absolute: relative to the config file's folder
  int line = 0;               // where its [[feed]] table starts; 0 = not from a file

  bool operator==(const FeedConfig&) const = default;
};

struct Config {
  std::string source;  // the path it was read from, as given
  ServerConfig server;
  StorageConfig storage;
  PollConfig poll;
  DedupConfig dedup;
  PublishConfig publish;
  LogConfig log;
  std::vector<OutputConfig> outputs;  // a file without [[output]] gets one default output
  std::vector<FeedConfig> feeds;
  // What the loader accepted but the user should hear about, with its line and column: a
  // feed listed twice (only the first is kept, see check_config).
  std::vector<Warning> warnings;

  bool operator==(const Config&) const = default;
};

// Errors are ErrorKind::config with the line and column (1-based, counted in code points) of
// the offending value, or of the key when the key itself is wrong, and a message that starts
// with the key's dotted path: `poll.interval: expected a duration like "30m"`. Array tables
// and array elements are numbered from 1, as a person counts them in the file: `feed[3].url`
// is the url of the third [[feed]] table, `output[1].categories[2]` the second category of
// the first [[output]]. A TOML syntax error says what to write instead, at the position
// toml++ found it or where the problem starts: `unterminated string; close it with "`.
// Unknown keys are errors, except inside a feed's free-form `headers` table.
//
// One feed listed twice (its URLs equal after normalize::feed_identity, or differing only in
// http/https, a trailing slash of the path, or a feed: prefix) is not an error: the first
// [[feed]] is kept, the later one is left out of Config::feeds with a warning naming both.
//
// A file can hold several problems; check_config returns them all, in file order (for
// `check-config`); parse_config and load_config return the first.
struct ConfigCheck {
  Config config;  // complete only when `errors` is empty
  std::vector<Error> errors;
};
ConfigCheck check_config(std::string_view text, std::string_view source_name);
ConfigCheck check_config_file(const std::string& path);  // an unreadable file: one io error

// Every key the loader reads, as "table.key" ("poll.interval", "feed.url", "output.path"),
// table by table in the order it reads them; for checking that the documentation is whole.
std::vector<std::string> known_keys();

// `source_name` names the file in Config::source and is the base for relative file: URLs.
Result<Config> parse_config(std::string_view text, std::string_view source_name);
Result<Config> load_config(const std::string& path);

// Where the SQLite database lives: an absolute `database` as is; a relative one under
// `state_directory` (the value of $STATE_DIRECTORY that systemd sets, "" when unset; when it
// lists several folders separated by ':', the first), else unchanged, which the operating
// system resolves against the current directory. The caller creates the parent folder.
std::string resolve_database_path(const StorageConfig& storage, std::string_view state_directory);

// The server's public URL, which self links and the channel's link need: base_url when set,
// else "http://LISTEN/" (an unspecified listen address, 0.0.0.0 or [::], is replaced by
// localhost), else, with no server, "http://localhost/" (a web server on this machine
// serving [publish] output_dir). Never "": a feed's self link is always absolute.
std::string effective_base_url(const ServerConfig& server);

// "90s", "30m", "2h", "3d", and combinations from the largest unit down ("1h30m", "1d12h").
// Whole numbers only; "0s" parses (the keys that need a positive value say so).
std::optional<std::chrono::seconds> parse_duration(std::string_view text);
// The shortest form parse_duration reads back: 5400s -> "1h30m", 0 -> "0s".
std::string format_duration(std::chrono::seconds duration);

// A whole number and a unit: B, KB or kB (1000), MB (1000^2), GB (1000^3), KiB (1024),
// MiB (1024^2), GiB (1024^3). "10MB" is 10,000,000 bytes.
std::optional<std::uint64_t> parse_size(std::string_view text);
// The largest unit that divides exactly: 10000000 -> "10MB", 1048576 -> "1MiB", 7 -> "7B".
std::string format_size(std::uint64_t bytes);

// Whether a feed of `category` is in an output that lists `wanted`: a listed category takes
// itself and every category nested under it ("news" takes "news/linux"); case matters.
bool in_categories(std::string_view category, const std::vector<std::string>& wanted);

std::string_view to_string(LogLevel level);
std::string_view to_string(OutputFormat format);

}  // namespace feedmerge::config
