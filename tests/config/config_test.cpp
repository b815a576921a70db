#include "feedmerge/config/config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace feedmerge::config {
namespace {

using namespace std::chrono_literals;

const std::string kConfigData = FEEDMERGE_TEST_DATA "/config/";
const std::string kShippedConfigs = FEEDMERGE_TEST_DATA "/../../config/";

// "LINE:COLUMN: MESSAGE", as check-config prints it after the file name.
std::string describe(const Error& error) {
  return std::to_string(error.line) + ":" + std::to_string(error.column) + ": " + error.message;
}

// The first error of `text`, described; "ok" when it loads.
std::string first_error(std::string_view text) {
  auto config = parse_config(text, "/etc/feedmerge/test.toml");
  if (config) return "ok";
  CHECK(config.error().kind == ErrorKind::config);
  return describe(config.error());
}

Config parse_ok(std::string_view text, std::string_view source = "/etc/feedmerge/test.toml") {
  auto config = parse_config(text, source);
  if (!config) FAIL_CHECK(describe(config.error()));
  REQUIRE(config.has_value());
  return *config;
}

TEST_CASE("an empty file holds the spec's defaults and one default output") {
  const Config config = parse_ok("");
  CHECK(config.source == "/etc/feedmerge/test.toml");
  CHECK(config.server.listen == "127.0.0.1:8080");
  CHECK(config.server.base_url == "");
  CHECK(config.storage.database == "feedmerge.db");
  CHECK(config.storage.retention == 30 * 24h);
  CHECK(config.storage.max_items_per_feed == 2000);
  CHECK(config.poll.interval == 30min);
  CHECK(config.poll.min_interval == 5min);
  CHECK(config.poll.max_interval == 24h);
  CHECK(config.poll.concurrency == 32);
  CHECK(config.poll.per_host == 2);
  CHECK(config.poll.timeout == 30s);
  CHECK(config.poll.connect_timeout == 10s);
  CHECK(config.poll.max_body == 10'000'000);
  CHECK(config.poll.user_agent == "feedmerge/0.1.0");
  CHECK(config.poll.proxy == "");
  CHECK(config.poll.allow_private_networks == false);
  CHECK(config.dedup.window == 72h);
  CHECK(config.dedup.threshold == 0.25);
  CHECK(config.dedup.preferred.empty());
  CHECK(config.publish.output_dir == "");
  CHECK(config.publish.sources_opml);
  CHECK(config.log.level == LogLevel::info);
  REQUIRE(config.outputs.size() == 1);
  CHECK(config.outputs[0].path == "/feed.xml");
  CHECK(config.outputs[0].format == OutputFormat::rss);
  CHECK(config.outputs[0].title == "Tech news, merged");
  CHECK(config.outputs[0].description == "");
  CHECK(config.outputs[0].categories.empty());
  CHECK(config.outputs[0].limit == 100);
  CHECK(config.feeds.empty());
}

TEST_CASE("a file with an empty output array publishes nothing") {
  CHECK(parse_ok("output = []\n").outputs.empty());
}

TEST_CASE("a feed holds the spec's defaults for every key but url") {
  const Config config = parse_ok("[[feed]]\nurl = \"https://example.com/feed.xml\"\n");
  REQUIRE(config.feeds.size() == 1);
  const FeedConfig& feed = config.feeds[0];
  CHECK(feed.url == "https://example.com/feed.xml");
  CHECK(feed.title == "");
  CHECK(feed.category == "");
  CHECK(!feed.interval);
  CHECK(feed.enabled);
  CHECK(feed.merge);
  CHECK(feed.headers.empty());
  CHECK(feed.username == "");
  CHECK(feed.password_file == "");
  CHECK(feed.line == 1);
}

TEST_CASE("every key of every table is read") {
  auto loaded = load_config(kConfigData + "every-key.toml");
  if (!loaded) FAIL(describe(loaded.error()));
  const Config& config = *loaded;
  CHECK(config.server.listen == "[::1]:9090");
  CHECK(config.server.base_url == "https://news.example.org/");
  CHECK(config.storage.database == "/var/lib/feedmerge/news.db");
  CHECK(config.storage.retention == 14 * 24h);
  CHECK(config.storage.max_items_per_feed == 0);
  CHECK(config.storage.lease == 90s);
  CHECK(config.poll.interval == 90min);
  CHECK(config.poll.min_interval == 10min);
  CHECK(config.poll.max_interval == 48h);
  CHECK(config.poll.concurrency == 8);
  CHECK(config.poll.per_host == 1);
  CHECK(config.poll.timeout == 45s);
  CHECK(config.poll.connect_timeout == 5s);
  CHECK(config.poll.max_body == 512 * 1024);
  CHECK(config.poll.user_agent == "feedmerge-test/1.0 (+https://example.org/bot)");
  CHECK(config.poll.proxy == "socks5h://127.0.0.1:1080");
  CHECK(config.poll.allow_private_networks);
  CHECK(config.dedup.window == 48h);
  CHECK(config.dedup.threshold == 0.75);
  CHECK(config.dedup.preferred == std::vector<std::string>{"cnbc.com", "theverge.com"});
  CHECK(config.publish.output_dir == "/srv/www/feeds");
  CHECK_FALSE(config.publish.sources_opml);
  CHECK(config.log.level == LogLevel::warn);

  REQUIRE(config.outputs.size() == 2);
  CHECK(config.outputs[0].path == "/linux/atom.xml");
  CHECK(config.outputs[0].format == OutputFormat::atom);
  CHECK(config.outputs[0].title == "Linux news");
  CHECK(config.outputs[0].description == "Merged Linux news");
  CHECK(config.outputs[0].categories == std::vector<std::string>{"linux", "news/linux"});
  CHECK(config.outputs[0].limit == 25);
  CHECK(config.outputs[0].line == 37);
  CHECK(config.outputs[1].path == "/all.json");
  CHECK(config.outputs[1].format == OutputFormat::json);
  CHECK(config.outputs[1].title == "Tech news, merged");

  REQUIRE(config.feeds.size() == 2);
  const FeedConfig& feed = config.feeds[0];
  CHECK(feed.url == "https://example.com/feed.xml");
  CHECK(feed.title == "Example");
  CHECK(feed.category == "news/linux");
  CHECK(feed.interval == 15min);
  CHECK(!feed.enabled);
  CHECK(!feed.merge);
  // In file order, not toml++'s sorted order.
  using Header = std::pair<std::string, std::string>;
  CHECK(feed.headers ==
        std::vector<Header>{{"X-Api-Key", "secret"}, {"Accept", "application/atom+xml"}});
  CHECK(feed.username == "reader");
  // A relative password file resolves against the config file's folder.
  const auto folder = std::filesystem::absolute(kConfigData).lexically_normal();
  CHECK(feed.password_file == (folder / "secrets/example.password").string());
  CHECK(feed.line == 49);
  CHECK(config.feeds[1].url == "file:///srv/feeds/local.xml");
  CHECK(config.feeds[1].line == 60);
}

TEST_CASE("durations read and write with units from days to seconds") {
  CHECK(parse_duration("90s") == 90s);
  CHECK(parse_duration("30m") == 30min);
  CHECK(parse_duration("2h") == 2h);
  CHECK(parse_duration("3d") == 72h);
  CHECK(parse_duration("1h30m") == 90min);
  CHECK(parse_duration("1d2h3m4s") == 24h + 2h + 3min + 4s);
  CHECK(parse_duration("0s") == 0s);
  SUBCASE("malformed durations are refused") {
    for (std::string_view text : {"", "30", "m", "30 m", " 30m", "30M", "1.5h", "-5m", "30m1h",
                                  "1h1h", "1w", "1234567890s", "30mins"}) {
      CAPTURE(text);
      CHECK(!parse_duration(text));
    }
  }
  CHECK(format_duration(5400s) == "1h30m");
  CHECK(format_duration(90s) == "1m30s");
  CHECK(format_duration(24h) == "1d");
  CHECK(format_duration(0s) == "0s");
  CHECK(parse_duration(format_duration(93784s)) == 93784s);
}

TEST_CASE("sizes use decimal KB/MB/GB and binary KiB/MiB/GiB") {
  CHECK(parse_size("512KB") == 512'000);
  CHECK(parse_size("512kB") == 512'000);
  CHECK(parse_size("10MB") == 10'000'000);
  CHECK(parse_size("1GB") == 1'000'000'000);
  CHECK(parse_size("512KiB") == 512 * 1024);
  CHECK(parse_size("10MiB") == 10 * 1024 * 1024);
  CHECK(parse_size("1GiB") == 1024 * 1024 * 1024);
  CHECK(parse_size("100B") == 100);
  SUBCASE("malformed sizes are refused") {
    for (std::string_view text : {"", "10", "MB", "10 MB", "10mb", "1.5MB", "-1MB", "10TB",
                                  "99999999999999999999B", "20000000000GiB"}) {
      CAPTURE(text);
      CHECK(!parse_size(text));
    }
  }
  CHECK(format_size(10'000'000) == "10MB");
  CHECK(format_size(1024 * 1024) == "1MiB");
  CHECK(format_size(1500) == "1500B");
  CHECK(format_size(0) == "0B");
}

// ---- exact messages, positions of the offending value ---------------------------------------

TEST_CASE("a malformed duration names its key and the position of its value") {
  CHECK(first_error("[poll]\ninterval = \"30 minutes\"\n") ==
        "2:12: poll.interval: expected a duration like \"30m\"");
  CHECK(first_error("[storage]\nretention = 30\n") ==
        "2:13: storage.retention: expected a duration like \"30m\"");
  CHECK(first_error("[poll]\ntimeout = \"0s\"\n") ==
        "2:11: poll.timeout: must be longer than zero");
}

TEST_CASE("a malformed size names its key") {
  CHECK(first_error("[poll]\nmax_body = \"10 megabytes\"\n") ==
        "2:12: poll.max_body: expected a size like \"10MB\"");
  CHECK(first_error("[poll]\nmax_body = \"0MB\"\n") ==
        "2:12: poll.max_body: must be larger than zero");
}

TEST_CASE("unknown keys are errors at the key, with a suggestion when one is close") {
  SUBCASE("at the top level") {
    CHECK(first_error("colour = \"blue\"\n") == "1:1: colour: unknown key");
    CHECK(first_error("[polll]\ninterval = \"5m\"\n") ==
          "1:2: polll: unknown key (did you mean \"poll\"?)");
    CHECK(first_error("[[feeds]]\nurl = \"https://a.example/\"\n") ==
          "1:3: feeds: unknown key (did you mean \"feed\"?)");
  }
  SUBCASE("in [poll]") {
    CHECK(first_error("[poll]\nintervall = \"5m\"\n") ==
          "2:1: poll.intervall: unknown key (did you mean \"interval\"?)");
    CHECK(first_error("[poll]\nretries = 3\n") == "2:1: poll.retries: unknown key");
    CHECK(first_error("[poll.retry]\ncount = 3\n") == "1:7: poll.retry: unknown key");
  }
  SUBCASE("in a [[feed]], counted from 1") {
    CHECK(first_error("[[feed]]\nurl = \"https://a.example/\"\n\n[[feed]]\n"
                      "url = \"https://b.example/\"\ntitel = \"B\"\n") ==
          "6:1: feed[2].titel: unknown key (did you mean \"title\"?)");
  }
  SUBCASE("in an [[output]]") {
    CHECK(first_error("[[output]]\nformats = \"rss\"\n") ==
          "2:1: output[1].formats: unknown key (did you mean \"format\"?)");
  }
}

TEST_CASE("a value of the wrong type names the type expected and the type found") {
  CHECK(first_error("[poll]\nconcurrency = \"32\"\n") ==
        "2:15: poll.concurrency: expected an integer, got a string");
  CHECK(first_error("[poll]\nallow_private_networks = \"yes\"\n") ==
        "2:26: poll.allow_private_networks: expected a boolean (true or false), got a string");
  CHECK(first_error("[server]\nlisten = 8080\n") ==
        "2:10: server.listen: expected a string, got an integer");
  CHECK(first_error("poll = 5\n") == "1:8: poll: expected a table ([poll]), got an integer");
  CHECK(first_error("[feed]\nurl = \"https://a.example/\"\n") ==
        "1:1: feed: expected an array of tables ([[feed]]), got a table");
  CHECK(first_error("[dedup]\npreferred = \"cnbc.com\"\n") ==
        "2:13: dedup.preferred: expected an array of strings, got a string");
  CHECK(first_error("[dedup]\npreferred = [\"cnbc.com\", 3]\n") ==
        "2:26: dedup.preferred[2]: expected a string, got an integer");
  CHECK(first_error("[[feed]]\nurl = \"https://a.example/\"\nheaders = \"X-A: b\"\n") ==
        "3:11: feed[1].headers: expected a table like { \"X-Api-Key\" = \"...\" }, got a string");
}

TEST_CASE("a feed without url is an error at its [[feed]] line") {
  CHECK(first_error("[[feed]]\nurl = \"https://a.example/\"\n\n[[feed]]\ntitle = \"B\"\n") ==
        "4:1: feed[2].url: missing; every [[feed]] needs a url");
}

TEST_CASE("a feed url must be http, https or file") {
  CHECK(
      first_error("[[feed]]\nurl = \"ftp://example.com/feed.xml\"\n") ==
      "2:7: feed[1].url: expected an http, https or file URL, got \"ftp://example.com/feed.xml\"");
  CHECK(first_error("[[feed]]\nurl = \"example.com/feed.xml\"\n") ==
        "2:7: feed[1].url: expected an http, https or file URL, got \"example.com/feed.xml\"");
  CHECK(first_error("[[feed]]\nurl = \"https:///feed.xml\"\n") ==
        "2:7: feed[1].url: expected an http, https or file URL, got \"https:///feed.xml\"");
  CHECK(first_error("[[feed]]\nurl = \"file://server/feed.xml\"\n") ==
        "2:7: feed[1].url: a file URL names a local file: write \"file:///absolute/path\" or "
        "\"file:relative/path\"");
  CHECK(first_error("[[feed]]\nurl = \"HTTPS://Example.com/feed\"\n") == "ok");
}

TEST_CASE("a relative file URL resolves against the config file's folder") {
  const Config config = parse_ok(
      "[[feed]]\nurl = \"file:samples/a%20b.rss\"\n[[feed]]\nurl = \"file:../common/b.rss\"\n"
      "[[feed]]\nurl = \"file:///srv/c.rss\"\n[[feed]]\nurl = \"file:/srv/d.rss\"\n",
      "/opt/feed merge/config/demo.toml");
  REQUIRE(config.feeds.size() == 4);
  CHECK(config.feeds[0].url == "file:///opt/feed%20merge/config/samples/a%20b.rss");
  CHECK(config.feeds[1].url == "file:///opt/feed%20merge/common/b.rss");
  // Absolute ones stay as written: the url is the feed's identity.
  CHECK(config.feeds[2].url == "file:///srv/c.rss");
  CHECK(config.feeds[3].url == "file:/srv/d.rss");
}

// Issues 13 and 17 made this a warning (it was an error): the first table is kept.
TEST_CASE("the same feed twice is a warning naming both places, and the first is kept") {
  const Config config = parse_ok(
      "[[feed]]\nurl = \"https://example.com/feed\"\n\n"
      "[[feed]]\nurl = \"https://EXAMPLE.com/a/../feed\"\ntitle = \"Second\"\n");
  REQUIRE(config.feeds.size() == 1);
  CHECK(config.feeds[0].url == "https://example.com/feed");
  CHECK(config.feeds[0].title == "");
  REQUIRE(config.warnings.size() == 1);
  CHECK(config.warnings[0].line == 5);
  CHECK(config.warnings[0].column == 7);
  CHECK(config.warnings[0].message ==
        "feed[2].url: \"https://EXAMPLE.com/a/../feed\" is the same feed as feed[1].url "
        "\"https://example.com/feed\" (line 2, column 7); keeping feed[1], ignoring feed[2]");
}

TEST_CASE(
    "http and https, a trailing slash, feed:, default ports, fragments and address forms "
    "name one feed") {
  auto config = load_config(kConfigData + "same-feed-twice.toml");
  if (!config) FAIL(describe(config.error()));
  std::vector<std::string> urls;
  for (const FeedConfig& feed : config->feeds)
    urls.push_back(feed.url);
  CHECK(urls ==
        std::vector<std::string>{"http://example.com/feed/", "http://127.0.0.1:8080/news.xml",
                                 "http://localhost/local.xml", "http://example.com/other.xml"});
  std::vector<std::string> warnings;
  for (const Warning& warning : config->warnings)
    warnings.push_back(std::to_string(warning.line) + ":" + std::to_string(warning.column) + ": " +
                       warning.message.substr(0, warning.message.find(" is the same")) + " -> " +
                       warning.message.substr(warning.message.find("keeping")));
  CHECK(warnings == std::vector<std::string>{
                        "9:7: feed[2].url: \"https://example.com/feed\" -> keeping feed[1], "
                        "ignoring feed[2]",
                        "13:7: feed[3].url: \"feed://example.com:80/feed/\" -> keeping feed[1], "
                        "ignoring feed[3]",
                        "19:7: feed[5].url: \"http://127.1:8080/news.xml?#latest\" -> keeping "
                        "feed[4], ignoring feed[5]",
                        "25:7: feed[7].url: \"http://LOCALHOST.:80/local.xml\" -> keeping "
                        "feed[6], ignoring feed[7]",
                    });
}

TEST_CASE("a feed: URL in the config is the http URL it stands for") {
  CHECK(parse_ok("[[feed]]\nurl = \"feed://example.com/rss\"\n").feeds[0].url ==
        "http://example.com/rss");
  CHECK(parse_ok("[[feed]]\nurl = \"feed:https://example.com/rss\"\n").feeds[0].url ==
        "https://example.com/rss");
  CHECK(
      first_error("[[feed]]\nurl = \"feed:ftp://example.com/rss\"\n") ==
      "2:7: feed[1].url: expected an http, https or file URL, got \"feed:ftp://example.com/rss\"");
}

TEST_CASE("an output path listed twice is an error naming both lines") {
  CHECK(first_error("[[output]]\npath = \"/a.xml\"\n[[output]]\npath = \"/a.xml\"\n") ==
        "4:8: output[2].path: \"/a.xml\" is already the path of output[1] (line 1)");
}

TEST_CASE("intervals must be ordered: min_interval <= interval <= max_interval") {
  CHECK(first_error("[poll]\nmin_interval = \"2h\"\nmax_interval = \"1h\"\n") ==
        "2:16: poll.min_interval: must not be longer than poll.max_interval (1h)");
  CHECK(first_error("[poll]\nmax_interval = \"1m\"\n") ==
        "2:16: poll.max_interval: must not be shorter than poll.min_interval (5m)");
  CHECK(first_error("[poll]\ninterval = \"1m\"\n") ==
        "2:12: poll.interval: must not be shorter than poll.min_interval (5m)");
  CHECK(first_error("[poll]\nmin_interval = \"1h\"\n") ==
        "2:16: poll.min_interval: must not be longer than poll.interval (30m)");
  CHECK(first_error("[poll]\ntimeout = \"5s\"\n") ==
        "2:11: poll.timeout: must not be shorter than poll.connect_timeout (10s)");
  CHECK(first_error("[[feed]]\nurl = \"https://a.example/\"\ninterval = \"1m\"\n") ==
        "3:12: feed[1].interval: must not be shorter than poll.min_interval (5m)");
  CHECK(first_error("[[feed]]\nurl = \"https://a.example/\"\ninterval = \"2d\"\n") ==
        "3:12: feed[1].interval: must not be longer than poll.max_interval (1d)");
}

TEST_CASE("ranges and enumerations are checked") {
  CHECK(first_error("[poll]\nconcurrency = 0\n") ==
        "2:15: poll.concurrency: must be at least 1, got 0");
  CHECK(first_error("[poll]\nper_host = -1\n") ==
        "2:12: poll.per_host: must be at least 1, got -1");
  CHECK(first_error("[poll]\nconcurrency = 9999999999\n") ==
        "2:15: poll.concurrency: must be at most 2147483647, got 9999999999");
  CHECK(first_error("[storage]\nmax_items_per_feed = -5\n") ==
        "2:22: storage.max_items_per_feed: must be at least 0, got -5");
  CHECK(first_error("[dedup]\nthreshold = 1.5\n") ==
        "2:13: dedup.threshold: must be between 0 and 1, got 1.5");
  CHECK(first_error("[dedup]\nthreshold = nan\n") ==
        "2:13: dedup.threshold: must be between 0 and 1, got nan");
  CHECK(first_error("[dedup]\nthreshold = 1\n") == "ok");
  CHECK(first_error("[log]\nlevel = \"verbose\"\n") ==
        "2:9: log.level: expected one of trace, debug, info, warn, error, got \"verbose\"");
  CHECK(first_error("[[output]]\nformat = \"xml\"\n") ==
        "2:10: output[1].format: expected one of rss, atom, json, got \"xml\"");
  CHECK(first_error("[[output]]\nlimit = 0\n") ==
        "2:9: output[1].limit: must be at least 1, got 0");
  CHECK(first_error("[dedup]\npreferred = [\"https://cnbc.com/\"]\n") ==
        "2:14: dedup.preferred[1]: expected a host name like \"theverge.com\", got "
        "\"https://cnbc.com/\"");
  CHECK(first_error("[[output]]\ncategories = [\"\"]\n") ==
        "2:15: output[1].categories[1]: must not be empty");
}

TEST_CASE("headline languages and an output's language are language tags") {
  auto config = parse_config(
      "[dedup]\nlanguages = [\"en\", \"FR\", \"pt-BR\"]\n[[output]]\nlanguage = \"de-AT\"\n",
      "test.toml");
  REQUIRE(config.has_value());
  CHECK(config->dedup.languages == std::vector<std::string>{"en", "fr", "pt-br"});
  CHECK(config->outputs[0].language == "de-AT");
  CHECK(parse_config("", "test.toml")->dedup.languages.empty());
  CHECK(parse_config("", "test.toml")->outputs[0].language.empty());
  CHECK(first_error("[dedup]\nlanguages = [\"en\", \"english\"]\n") ==
        "2:20: dedup.languages[2]: expected a language code like \"en\" or \"pt-BR\", got "
        "\"english\"");
  CHECK(first_error("[dedup]\nlanguages = \"en\"\n") ==
        "2:13: dedup.languages: expected an array of strings, got a string");
  CHECK(first_error("[[output]]\nlanguage = \"en_US\"\n") ==
        "2:12: output[1].language: expected a language code like \"en\" or \"pt-BR\", got "
        "\"en_US\"");
}

TEST_CASE("output paths are URL paths that are safe file names") {
  for (std::string_view path : {"/feed.xml", "/linux/atom.xml", "/feed.json"}) {
    CAPTURE(path);
    CHECK(first_error("[[output]]\npath = \"" + std::string(path) + "\"\n") == "ok");
  }
  for (std::string_view path : {"feed.xml", "/", "/dir/", "/../etc/passwd", "/a//b.xml", "/a b.xml",
                                "/feed.xml?x=1", "/./feed.xml"}) {
    CAPTURE(path);
    CHECK(first_error("[[output]]\npath = \"" + std::string(path) + "\"\n") ==
          "2:8: output[1].path: expected a URL path like \"/feed.xml\"");
  }
}

TEST_CASE("server.listen takes host:port, [IPv6]:port or nothing") {
  for (std::string_view listen :
       {"127.0.0.1:8080", "0.0.0.0:80", "localhost:8080", "[::1]:8080", "[::]:0", ""}) {
    CAPTURE(listen);
    CHECK(first_error("[server]\nlisten = \"" + std::string(listen) + "\"\n") == "ok");
  }
  for (std::string_view listen : {"8080", "127.0.0.1", "::1:8080", "[::1]", "[nonsense]:80",
                                  "host:65536", "host:http", ":8080"}) {
    CAPTURE(listen);
    CHECK(first_error("[server]\nlisten = \"" + std::string(listen) + "\"\n") ==
          "2:10: server.listen: expected \"host:port\", \"[IPv6]:port\" or \"\"");
  }
  CHECK(first_error("[server]\nbase_url = \"news.example.org\"\n") ==
        "2:12: server.base_url: expected an http or https URL like \"https://news.example.org/\"");
  CHECK(first_error("[poll]\nproxy = \"proxy:3128\"\n") ==
        "2:9: poll.proxy: expected a proxy URL like \"http://proxy:3128\"");
}

TEST_CASE("feed headers and credentials are checked") {
  const std::string feed = "[[feed]]\nurl = \"https://a.example/\"\n";
  CHECK(first_error(feed + "headers = { \"X Key\" = \"v\" }\n") ==
        "3:13: feed[1].headers.\"X Key\": not a valid HTTP header name");
  CHECK(first_error(feed + "headers = { X-Key = 1 }\n") ==
        "3:21: feed[1].headers.X-Key: expected a string, got an integer");
  CHECK(first_error(feed + "headers = { X-Key = \"a\\r\\nHost: evil\" }\n") ==
        "3:21: feed[1].headers.X-Key: must not contain control characters");
  CHECK(first_error(feed + "password_file = \"/run/credentials/x\"\n") ==
        "3:17: feed[1].password_file: needs feed[1].username as well");
  CHECK(first_error("[[feed]]\nurl = \"file:///srv/a.xml\"\nusername = \"me\"\n") ==
        "3:12: feed[1].username: a file feed is read from disk and takes no credentials");
  CHECK(first_error("[[feed]]\nurl = \"file:///srv/a.xml\"\nheaders = { A = \"b\" }\n") ==
        "3:11: feed[1].headers: a file feed is read from disk and sends no HTTP headers");
}

TEST_CASE("a TOML syntax error says where and what to write instead") {
  SUBCASE("an unterminated string points at its opening quote") {
    CHECK(first_error("[poll]\ninterval = \"30m\nconcurrency = 3\n") ==
          "2:12: unterminated string; close it with \"");
    CHECK(first_error("[poll]\ninterval = \"30m") == "2:12: unterminated string; close it with \"");
    CHECK(first_error("[[feed]]\ntitle = 'Its\n") == "2:9: unterminated string; close it with '");
    CHECK(first_error("[[feed]]\ntitle = \"a \\\"quoted\\\" word\n") ==
          "2:9: unterminated string; close it with \"");
    CHECK(first_error("[[output]]\ndescription = \"\"\"one\ntwo\n") ==
          "2:15: unterminated multi-line string; close it with \"\"\"");
  }
  SUBCASE("text without quotes") {
    CHECK(first_error("[poll]\ninterval = 30m\n") == "2:12: text must be quoted: write \"30m\"");
    CHECK(first_error("[poll]\nmax_body = 10MB # the limit\n") ==
          "2:12: text must be quoted: write \"10MB\"");
    CHECK(first_error("[log]\nlevel = info\n") == "2:9: text must be quoted: write \"info\"");
    CHECK(first_error("[log]\nlevel = very loud\n") ==
          "2:9: text must be quoted: write \"very loud\"");
    CHECK(first_error("[dedup]\npreferred = [cnbc.com]\n") ==
          "2:14: text must be quoted: write \"cnbc.com\"");
    CHECK(first_error("[poll]\nallow_private_networks = True\n") ==
          "2:26: true and false are written in lowercase: true");
    CHECK(first_error("[dedup]\nthreshold = .5\n") ==
          "2:13: a number needs a digit before its point: write 0.5");
  }
  SUBCASE("tables, keys and arrays") {
    CHECK(first_error("[poll\ninterval = \"1h\"\n") ==
          "1:6: unclosed table header; close it with ]");
    CHECK(first_error("[[feed]\nurl = \"https://a.example/\"\n") ==
          "1:8: unclosed table header; close it with ]]");
    CHECK(first_error("[poll]\n[log]\n[poll]\n") ==
          "3:1: table [poll] appears twice; merge the two into one");
    CHECK(first_error("[poll]\nconcurrency = 3\nconcurrency = 4\n") ==
          "3:15: concurrency is set twice; keep one of the two");
    CHECK(first_error("[poll]\nper host = 2\n") ==
          "2:5: expected = after the key (key = value); quote a key with spaces: \"a b\" = "
          "value");
    CHECK(first_error("[poll]\nper_host. = 2\n") ==
          "2:11: expected a key (letters, digits, _ and -, or \"quoted\"), saw '='");
    CHECK(first_error("[poll]\nper_host") ==
          "2:9: the file ends inside a key = value line; finish it");
    CHECK(first_error("[poll]\nper_host =\n") ==
          "2:11: missing value after =; write \"text\", a number, true or false");
    CHECK(first_error("[log]\nlevel = \"info\" \"debug\"\n") ==
          "2:16: unexpected '\"' after the value; write one key = value per line, and text in "
          "quotes");
    CHECK(first_error("[dedup]\npreferred = [\"a.com\", \"b.com\"\nwindow = \"1h\"\n") ==
          "3:1: expected , between the array's values or ] after the last one, saw 'w'");
    CHECK(first_error("[dedup]\npreferred = [\"a.com\",") ==
          "2:22: unterminated array; close it with ]");
    CHECK(first_error("[[feed]]\nurl = \"https://a.example/\"\nheaders = { A = \"b\"\n") ==
          "3:20: unterminated inline table; close it with } on the same line");
    CHECK(first_error("[storage]\ndatabase = \"C:\\Users\\news.db\"\n") ==
          "2:17: \\u and \\U must be followed by 4 and 8 hex digits; write \\\\ for a "
          "backslash, or use a 'literal string' for text with backslashes");
    CHECK(first_error("[poll]\nconcurrency = 032\n") ==
          "2:18: a number must not start with 0; quote it if it is text: \"0123\"");
    CHECK(first_error("[log]\nlevel = \"info\"\n\xff\n") ==
          "3:1: the file is not UTF-8 text; save it as UTF-8");
  }
  SUBCASE("a mistake no rule knows keeps toml++'s reason, in our form") {
    CHECK(first_error("when = 1979-13-27\n") ==
          "1:15: TOML syntax error in a date: expected month between 1 and 12 (inclusive), saw "
          "13");
  }
}

TEST_CASE("config/feedmerge.toml shows every key with the default the loader gives it") {
  // The file documents each key as `key = DEFAULT`: live in the settings tables
  // ([server] ... [log]; `# key = DEFAULT` when it is better left unset), commented in the
  // templates under `#   [[output]]` and `#   [[feed]]` (the live [[output]] and [[feed]]
  // tables are the shipped choice, not defaults). A line saying "no default" only documents.
  std::ifstream file(kShippedConfigs + "feedmerge.toml");
  REQUIRE(file);
  std::map<std::string, std::string> shown;  // "table.key" -> its line, uncommented
  std::string table;                         // where the lines read belong; "" = nowhere
  bool in_template = false;
  const std::regex header(R"(^(#\s*)?\[\[?([a-z_]+)\]\]?\s*(#.*)?$)");
  const std::regex key_line(R"(^#?\s*([a-z_]+)\s*=\s*\S.*$)");
  for (std::string line; std::getline(file, line);) {
    std::smatch match;
    if (std::regex_match(line, match, header)) {
      const bool commented = match[1].matched;
      const bool array = line.find("[[") != std::string::npos;
      in_template = commented && array;
      table = (commented == array) ? match[2].str() : "";  // [x] live, #   [[x]] a template
      continue;
    }
    if (line.empty() || line == "#") {
      if (in_template) table.clear();
      in_template = false;
      continue;
    }
    if (table.empty() || !std::regex_match(line, match, key_line)) continue;
    if (in_template && !line.starts_with("#")) continue;
    const std::size_t start = line.find_first_not_of("# ");
    CAPTURE(line);
    CHECK(shown.emplace(table + "." + match[1].str(), line.substr(start)).second);
  }

  // The same table with and without the shown line: equal when the line shows the default.
  const auto with = [](std::string_view table, const std::string& line) {
    std::string text = table == "feed" || table == "output" ? "[[" + std::string(table) + "]]\n"
                                                            : "[" + std::string(table) + "]\n";
    if (table == "feed" && !line.starts_with("url ")) text += "url = \"https://a.example/\"\n";
    return text + line + "\n";
  };
  for (const std::string& key : known_keys()) {
    CAPTURE(key);
    const auto found = shown.find(key);
    if (found == shown.end()) {
      FAIL_CHECK("not shown in config/feedmerge.toml");
      continue;
    }
    const std::string table = key.substr(0, key.find('.'));
    const std::string& line = found->second;
    CAPTURE(line);
    auto documented = parse_config(with(table, line), "test.toml");
    if (!documented) {
      FAIL_CHECK(describe(documented.error()));
      continue;
    }
    if (key == "feed.url" || line.find("no default") != std::string::npos) continue;
    auto absent = parse_config(with(table, ""), "test.toml");
    REQUIRE(absent.has_value());
    CHECK_MESSAGE((*documented == *absent), "the line shows another value than the default");
  }
  for (const auto& [key, line] : shown) {
    CAPTURE(line);
    const auto keys = known_keys();
    CHECK_MESSAGE(std::find(keys.begin(), keys.end(), key) != keys.end(),
                  key << " is shown but the loader does not read it");
  }
}

TEST_CASE("check_config lists every problem in file order") {
  const ConfigCheck check = check_config(
      "[poll]\nconcurrency = 0\ninterval = \"soon\"\n\n[[feed]]\ntitle = \"no url\"\n"
      "[log]\nlevel = \"loud\"\n",
      "test.toml");
  REQUIRE(check.errors.size() == 4);
  CHECK(describe(check.errors[0]) == "2:15: poll.concurrency: must be at least 1, got 0");
  CHECK(describe(check.errors[1]) == "3:12: poll.interval: expected a duration like \"30m\"");
  CHECK(describe(check.errors[2]) == "5:1: feed[1].url: missing; every [[feed]] needs a url");
  CHECK(describe(check.errors[3]) ==
        "8:9: log.level: expected one of trace, debug, info, warn, error, got \"loud\"");
}

TEST_CASE("a file that cannot be read is an io error") {
  auto config = load_config(kConfigData + "no-such-file.toml");
  REQUIRE(!config.has_value());
  CHECK(config.error().kind == ErrorKind::io);
  CHECK(config.error().message == "cannot read: No such file or directory");
  CHECK(config.error().line == 0);
}

TEST_CASE("the shipped configs load without error") {
  SUBCASE("config/feedmerge.toml lists 20 to 40 real feeds") {
    auto config = load_config(kShippedConfigs + "feedmerge.toml");
    if (!config) FAIL(describe(config.error()));
    CHECK(config->feeds.size() >= 20);
    CHECK(config->feeds.size() <= 40);
    CHECK(config->server.listen == "127.0.0.1:8080");
    CHECK(config->storage.database == "feedmerge.db");
    CHECK(config->warnings.empty());
    for (const FeedConfig& feed : config->feeds) {
      CAPTURE(feed.url);
      CHECK(feed.url.starts_with("https://"));
      CHECK(!feed.category.empty());
    }
  }
  SUBCASE("config/demo.toml reads the bundled samples, wherever the checkout is") {
    auto config = load_config(kShippedConfigs + "demo.toml");
    if (!config) FAIL(describe(config.error()));
    REQUIRE(config->feeds.size() >= 4);
    for (const FeedConfig& feed : config->feeds) {
      CAPTURE(feed.url);
      REQUIRE(feed.url.starts_with("file:///"));
      const std::string path = feed.url.substr(std::string_view("file://").size());
      CHECK(std::filesystem::is_regular_file(path));
    }
  }
}

TEST_CASE("the database path resolves against $STATE_DIRECTORY, else stays relative") {
  StorageConfig storage;
  storage.database = "var/feedmerge.db";
  CHECK(resolve_database_path(storage, "") == "var/feedmerge.db");
  CHECK(resolve_database_path(storage, "/var/lib/feedmerge") ==
        "/var/lib/feedmerge/var/feedmerge.db");
  CHECK(resolve_database_path(storage, "/var/lib/a:/var/lib/b") == "/var/lib/a/var/feedmerge.db");
  storage.database = "/srv/news.db";
  CHECK(resolve_database_path(storage, "/var/lib/feedmerge") == "/srv/news.db");
}

TEST_CASE("the base URL is derived from listen unless set") {
  ServerConfig server;
  CHECK(effective_base_url(server) == "http://127.0.0.1:8080/");
  server.listen = "0.0.0.0:80";
  CHECK(effective_base_url(server) == "http://localhost:80/");
  server.listen = "[::1]:8080";
  CHECK(effective_base_url(server) == "http://[::1]:8080/");
  // With no server (render, output_dir) the self links stay absolute (issue 13).
  server.listen = "";
  CHECK(effective_base_url(server) == "http://localhost/");
  server.base_url = "https://news.example.org/";
  CHECK(effective_base_url(server) == "https://news.example.org/");
}

TEST_CASE("an output cannot take a path the server answers itself") {
  // ("/" is not a file name either: see "output paths are URL paths that are safe file names".)
  for (std::string_view path : {"/metrics", "/sources.opml", "/healthz"}) {
    CAPTURE(path);
    CHECK(first_error("[[output]]\nformat = \"atom\"\npath = \"" + std::string(path) + "\"\n") ==
          "3:8: output[1].path: \"" + std::string(path) +
              "\" is served by feedmerge itself (/, /healthz, /metrics, /sources.opml); choose "
              "another path like \"/feed.xml\"");
  }
  CHECK(first_error("[[output]]\npath = \"/metrics.xml\"\n") == "ok");
  // Every problem is listed with its position, as check-config prints them.
  const ConfigCheck check = check_config(
      "[[output]]\npath = \"/feed.xml\"\n\n[[output]]\npath = \"/healthz\"\n", "x.toml");
  REQUIRE(check.errors.size() == 1);
  CHECK(describe(check.errors.front()).starts_with("5:8: output[2].path: \"/healthz\" is served"));
}

TEST_CASE("[storage] backend postgresql takes a url or a url_file, and says which key is wrong") {
  SUBCASE("sqlite is the default, and needs neither") {
    const Config config = parse_ok("[storage]\ndatabase = \"x.db\"\n");
    CHECK(config.storage.backend == StorageBackend::sqlite);
    CHECK(config.storage.url.empty());
  }
  SUBCASE("a url") {
    const Config config =
        parse_ok("[storage]\nbackend = \"postgresql\"\nurl = \"postgresql://fm@db/feeds\"\n");
    CHECK(config.storage.backend == StorageBackend::postgresql);
    CHECK(config.storage.url == "postgresql://fm@db/feeds");
  }
  SUBCASE("a url_file, relative to the config file's folder") {
    const Config config =
        parse_ok("[storage]\nbackend = \"postgresql\"\nurl_file = \"credentials/pg\"\n");
    CHECK(config.storage.url_file == "/etc/feedmerge/credentials/pg");
    CHECK(parse_ok("[storage]\nbackend = \"postgresql\"\nurl_file = \"/run/credentials/x/pg\"\n")
              .storage.url_file == "/run/credentials/x/pg");
  }
  SUBCASE("errors name the key") {
    CHECK(first_error("[storage]\nbackend = \"postgresql\"\n") ==
          "2:11: storage.backend: \"postgresql\" needs storage.url or storage.url_file");
    CHECK(first_error("[storage]\nbackend = \"mysql\"\n") ==
          "2:11: storage.backend: expected one of sqlite, postgresql, got \"mysql\"");
    CHECK(first_error("[storage]\nurl = \"postgresql://db/feeds\"\n") ==
          "2:7: storage.url: needs storage.backend = \"postgresql\"");
    CHECK(first_error("[storage]\nurl_file = \"/run/pg\"\n") ==
          "2:12: storage.url_file: needs storage.backend = \"postgresql\"");
    CHECK(first_error("[storage]\nbackend = \"postgresql\"\nurl = \"mysql://db/feeds\"\n") ==
          "3:7: storage.url: expected a URL like "
          "\"postgresql://feedmerge@db.example.org/feedmerge\"");
    CHECK(first_error("[storage]\nbackend = \"postgresql\"\nurl = \"postgresql://db/f\"\n"
                      "url_file = \"/run/pg\"\n") ==
          "4:12: storage.url_file: set storage.url or storage.url_file, not both");
  }
}

}  // namespace
}  // namespace feedmerge::config
