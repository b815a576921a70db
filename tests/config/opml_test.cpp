#include "feedmerge/config/opml.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

namespace feedmerge::config {
namespace {

using namespace std::chrono_literals;

const std::string kConfigData = FEEDMERGE_TEST_DATA "/config/";

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_bytes(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A fresh folder under $TMPDIR, removed with everything in it.
class ScratchFolder {
 public:
  ScratchFolder() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/feedmerge-opml-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~ScratchFolder() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;

  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string describe(const Error& error) {
  return std::to_string(error.line) + ":" + std::to_string(error.column) + ": " + error.message;
}

struct Subscription {
  std::string url;
  std::string title;
  std::string category;
  int line = 0;
  bool operator==(const Subscription&) const = default;
};

std::vector<Subscription> subscriptions(const std::vector<FeedConfig>& feeds) {
  std::vector<Subscription> out;
  for (const FeedConfig& feed : feeds)
    out.push_back({feed.url, feed.title, feed.category, feed.line});
  return out;
}

}  // namespace
}  // namespace feedmerge::config

namespace doctest {
template <>
struct StringMaker<feedmerge::config::Subscription> {
  static String convert(const feedmerge::config::Subscription& s) {
    return ("{" + s.url + ", " + s.title + ", " + s.category + ", line " + std::to_string(s.line) +
            "}")
        .c_str();
  }
};
}  // namespace doctest

namespace feedmerge::config {
namespace {

TEST_CASE("OPML 2.0 folders become categories, nested folders joined with a slash") {
  std::vector<Warning> warnings;
  auto feeds = parse_opml(read_bytes(kConfigData + "subscriptions-2.0.opml"), &warnings);
  if (!feeds) FAIL(describe(feeds.error()));
  CHECK(subscriptions(*feeds) ==
        std::vector<Subscription>{
            {"https://feeds.arstechnica.com/arstechnica/index", "Ars Technica", "Tech", 12},
            {"https://www.theverge.com/rss/index.xml", "The Verge", "Tech", 13},
            {"https://lwn.net/headlines/rss", "LWN.net", "Tech/Linux", 15},
            // feed:// is the old "subscribe" scheme for http.
            {"http://www.phoronix.com/rss.php", "Phoronix", "Tech/Linux", 16},
            {"https://krebsonsecurity.com/feed/", "Krebs on Security", "Security & Privacy", 20},
            // Outside any folder: the first entry of the category attribute.
            {"https://news.ycombinator.com/rss", "Hacker News", "Community/Links", 24},
        });
  REQUIRE(warnings.size() == 2);
  CHECK(to_string(warnings[0]) ==
        "line 21: skipped \"https://FEEDS.arstechnica.com/arstechnica/index\": already listed on "
        "line 12");
  CHECK(to_string(warnings[1]) ==
        "line 22: skipped \"Podcast\": expected an http or https feed URL, got "
        "\"ftp://example.com/podcast.xml\"");
}

TEST_CASE("OPML 1.0 in ISO-8859-1 with lower-case xmlurl attributes") {
  auto feeds = parse_opml(read_bytes(kConfigData + "subscriptions-1.0.opml"));
  if (!feeds) FAIL(describe(feeds.error()));
  CHECK(subscriptions(*feeds) ==
        std::vector<Subscription>{
            {"http://www.scripting.com/rss.xml", "Scripting News", "", 8},
            {"https://www.numerama.com/feed/", "Numérama", "Actualités", 10},
            {"https://www.lemonde.fr/pixels/rss_full.xml", "Le Monde – Pixels", "Actualités", 11},
            {"https://www.heise.de/rss/heise-atom.xml", "Zeitung für Technik", "", 13},
        });
}

TEST_CASE("a document that is not OPML is an error with its position") {
  SUBCASE("another root element") {
    auto feeds = parse_opml("<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel/></rss>");
    REQUIRE(!feeds.has_value());
    CHECK(feeds.error().kind == ErrorKind::invalid_input);
    CHECK(describe(feeds.error()) == "2:1: not an OPML document: the root element is <rss>");
  }
  SUBCASE("no body") {
    auto feeds = parse_opml("<opml version=\"2.0\">\n  <head/>\n</opml>\n");
    REQUIRE(!feeds.has_value());
    CHECK(describe(feeds.error()) == "1:1: an OPML document needs a <body>");
  }
  SUBCASE("not well-formed") {
    auto feeds =
        parse_opml("<opml version=\"2.0\">\n<body>\n<outline text=\"a\">\n</body></opml>\n");
    REQUIRE(!feeds.has_value());
    CHECK(describe(feeds.error()) == "4:3: not well-formed XML: Start-end tags mismatch");
  }
  SUBCASE("folders nested beyond reason") {
    std::string deep = "<opml><body>";
    for (int i = 0; i < 100; ++i)
      deep += "<outline text=\"f\">";
    for (int i = 0; i < 100; ++i)
      deep += "</outline>";
    deep += "</body></opml>";
    auto feeds = parse_opml(deep);
    REQUIRE(!feeds.has_value());
    CHECK(feeds.error().kind == ErrorKind::too_deep);
    CHECK(feeds.error().message == "outlines nested deeper than 64 levels");
  }
}

TEST_CASE("an OPML list aimed at this machine, its networks or a metadata service is named") {
  // Issue 17: such lists were imported without a word. Metadata addresses never are.
  std::vector<Warning> warnings;
  auto feeds = parse_opml(read_bytes(kConfigData + "subscriptions-hazards.opml"), &warnings);
  if (!feeds) FAIL(describe(feeds.error()));
  CHECK(subscriptions(*feeds) == std::vector<Subscription>{
                                     {"http://127.0.0.1:8080/feed.xml", "Loopback", "Local", 8},
                                     {"http://LOCALHOST./feed.xml", "Localhost", "Local", 10},
                                     {"https://10.1.2.3/rss", "Private", "Local", 11},
                                     {"http://[fe80::1]/rss", "Link-local", "Local", 12},
                                     {"https://example.com/feed/", "Example", "News", 22},
                                     {"https://example.org/rss", "Other", "News", 26},
                                 });
  std::vector<std::string> seen;
  for (const Warning& warning : warnings)
    seen.push_back(to_string(warning));
  CHECK(seen ==
        std::vector<std::string>{
            "line 8: \"http://127.0.0.1:8080/feed.xml\" is on a loopback address (127.0.0.1): "
            "imported, but check that you meant this machine or its network",
            "line 9: skipped \"http://127.1:8080/feed.xml#top\": already listed on line 8",
            "line 10: \"http://LOCALHOST./feed.xml\" is on a loopback address (localhost): "
            "imported, but check that you meant this machine or its network",
            "line 11: \"https://10.1.2.3/rss\" is on a private address (10.1.2.3): imported, but "
            "check that you meant this machine or its network",
            "line 12: \"http://[fe80::1]/rss\" is on a link-local address (fe80::1): imported, "
            "but check that you meant this machine or its network",
            "line 15: skipped \"http://169.254.169.254/latest/meta-data/\": a cloud metadata "
            "address (169.254.169.254), which feedmerge never fetches",
            "line 16: skipped \"http://2852039166/latest/meta-data/\": a cloud metadata address "
            "(169.254.169.254), which feedmerge never fetches",
            "line 17: skipped \"http://100.100.100.200/latest/meta-data/\": a cloud metadata "
            "address (100.100.100.200), which feedmerge never fetches",
            "line 18: skipped \"http://[fd00:ec2::254]/latest/meta-data/\": a cloud metadata "
            "address (fd00:ec2::254), which feedmerge never fetches",
            "line 19: skipped \"http://metadata.google.internal/computeMetadata/v1/\": a cloud "
            "metadata address (metadata.google.internal), which feedmerge never fetches",
            "line 23: skipped \"http://example.com/feed\": already listed on line 22",
            "line 24: skipped \"https://example.com:443/feed\": already listed on line 22",
            "line 25: skipped \"https://example.com:443/feed/\": already listed on line 22",
        });
}

TEST_CASE("an imported category that no [[output]] filter takes is named once") {
  auto categorised = [](std::string url, std::string category, int line) {
    FeedConfig feed;
    feed.url = std::move(url);
    feed.category = std::move(category);
    feed.line = line;
    return feed;
  };
  const std::vector<FeedConfig> feeds = {
      categorised("https://a.example/rss", "News/Linux", 3),
      categorised("https://b.example/rss", "linux/kernel", 4),
      categorised("https://c.example/rss", "News/Linux", 5),
      categorised("https://d.example/rss", "", 6),
  };
  std::vector<OutputConfig> outputs(3);
  outputs[1].categories = {"linux", "security"};
  outputs[2].categories = {"linux"};
  auto warnings = unpublished_categories(feeds, outputs);
  REQUIRE(warnings.size() == 1);
  CHECK(to_string(warnings[0]) ==
        "line 3: category \"News/Linux\" matches no [[output]] categories (they are \"linux\", "
        "\"security\"): its feeds appear only in the outputs without categories");

  SUBCASE("every output filters: the feeds reach none") {
    outputs.erase(outputs.begin());
    warnings = unpublished_categories(feeds, outputs);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].message.ends_with("its feeds appear in no output"));
  }
  SUBCASE("no output filters: nothing to say") {
    outputs.resize(1);
    CHECK(unpublished_categories(feeds, outputs).empty());
  }
}

TEST_CASE("feeds_to_toml writes the keys that differ from their defaults, escaped") {
  FeedConfig plain;
  plain.url = "https://a.example/feed";
  plain.title = "A \"quoted\" title\\ \x01 caf\xc3\xa9 \xff";
  plain.category = "Tech/Linux";
  FeedConfig full;
  full.url = "https://b.example/";
  full.interval = 15min;
  full.enabled = false;
  full.merge = false;
  full.headers = {{"X-Api-Key", "k"}, {"Odd Name", "v"}};
  full.username = "u";
  full.password_file = "/run/p";
  CHECK(feeds_to_toml({plain, full}) ==
        "[[feed]]\n"
        "url = \"https://a.example/feed\"\n"
        "title = \"A \\\"quoted\\\" title\\\\ \\u0001 caf\xc3\xa9 \xef\xbf\xbd\"\n"
        "category = \"Tech/Linux\"\n"
        "\n"
        "[[feed]]\n"
        "url = \"https://b.example/\"\n"
        "interval = \"15m\"\n"
        "enabled = false\n"
        "merge = false\n"
        "headers = { X-Api-Key = \"k\", \"Odd Name\" = \"v\" }\n"
        "username = \"u\"\n"
        "password_file = \"/run/p\"\n");
  CHECK(feeds_to_toml({}) == "");
}

TEST_CASE("imported feeds read back through the config loader unchanged") {
  auto feeds = parse_opml(read_bytes(kConfigData + "subscriptions-2.0.opml"));
  REQUIRE(feeds.has_value());
  auto config = parse_config(feeds_to_toml(*feeds), "/etc/feedmerge/imported.toml");
  if (!config) FAIL(describe(config.error()));
  REQUIRE(config->feeds.size() == feeds->size());
  for (std::size_t i = 0; i < feeds->size(); ++i) {
    CHECK(config->feeds[i].url == (*feeds)[i].url);
    CHECK(config->feeds[i].title == (*feeds)[i].title);
    CHECK(config->feeds[i].category == (*feeds)[i].category);
  }
}

// pugixml leaves ">" unescaped in attribute values, which XML allows.
TEST_CASE("export-opml nests categories as folders, in the order they first appear") {
  Config config;
  config.feeds.resize(3);
  config.feeds[0].url = "https://a.example/feed?x=1&y=2";
  config.feeds[0].title = "A & B <news> \"quoted\"";
  config.feeds[0].category = "Tech/Linux";
  config.feeds[1].url = "https://b.example/";
  config.feeds[2].url = "https://c.example/";
  config.feeds[2].title = "C";
  config.feeds[2].category = "Tech";
  CHECK(config_to_opml(config) ==
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<opml version=\"2.0\">\n"
        "  <head>\n"
        "    <title>feedmerge subscriptions</title>\n"
        "  </head>\n"
        "  <body>\n"
        "    <outline text=\"Tech\" title=\"Tech\">\n"
        "      <outline text=\"Linux\" title=\"Linux\">\n"
        "        <outline type=\"rss\" text=\"A &amp; B &lt;news> &quot;quoted&quot;\" "
        "title=\"A &amp; B &lt;news> &quot;quoted&quot;\" "
        "xmlUrl=\"https://a.example/feed?x=1&amp;y=2\" />\n"
        "      </outline>\n"
        "      <outline type=\"rss\" text=\"C\" title=\"C\" xmlUrl=\"https://c.example/\" />\n"
        "    </outline>\n"
        "    <outline type=\"rss\" text=\"https://b.example/\" title=\"https://b.example/\" "
        "xmlUrl=\"https://b.example/\" />\n"
        "  </body>\n"
        "</opml>\n");
}

TEST_CASE("a feed without a configured title is listed by its own title from the database") {
  Config config;
  config.feeds.resize(2);
  config.feeds[0].url = "https://a.example/rss";
  config.feeds[1].url = "https://b.example/rss";
  config.feeds[1].title = "Configured";
  OpmlListing listing;
  listing.own_titles = {{"https://a.example/rss", "  Alpha\n Daily "},
                        {"https://b.example/rss", "Beta's own"}};
  const std::string opml = config_to_opml(config, listing);
  CHECK(opml.find(R"~(<outline type="rss" text="Alpha Daily" title="Alpha Daily" )~"
                  R"~(xmlUrl="https://a.example/rss" />)~") != std::string::npos);
  CHECK(opml.find(R"~(text="Configured")~") != std::string::npos);  // the config wins
  CHECK(opml.find("Beta's own") == std::string::npos);
}

TEST_CASE("the public listing redacts secrets and names local feeds without their path") {
  Config config;
  config.feeds.resize(3);
  config.feeds[0].url = "https://alice:S3cret@a.example/rss?api_key=K3Y";
  config.feeds[1].url = "file:///home/alice/feeds/local.rss";
  config.feeds[2].url = "file:///home/alice/feeds/untitled.rss";
  OpmlListing listing{.own_titles = {{"file:///home/alice/feeds/local.rss", "Local News"}},
                      .public_listing = true};
  const std::string opml = config_to_opml(config, listing);
  CAPTURE(opml);
  CHECK(opml.find(R"~(xmlUrl="https://REDACTED@a.example/rss?api_key=REDACTED")~") !=
        std::string::npos);
  CHECK(opml.find(R"~(<outline text="Local News" title="Local News" />)~") != std::string::npos);
  CHECK(opml.find(R"~(<outline text="untitled.rss" title="untitled.rss" />)~") !=
        std::string::npos);
  for (std::string_view secret : {"S3cret", "K3Y", "file:", "/home/alice"})
    CHECK(opml.find(secret) == std::string::npos);
  // export-opml, the operator's own copy, keeps the URLs as configured.
  listing.public_listing = false;
  CHECK(config_to_opml(config, listing).find("api_key=K3Y") != std::string::npos);
}

TEST_CASE("export then import gives back every feed's url, title and category") {
  auto config = load_config(FEEDMERGE_TEST_DATA "/../../config/feedmerge.toml");
  REQUIRE(config.has_value());
  auto feeds = parse_opml(config_to_opml(*config));
  if (!feeds) FAIL(describe(feeds.error()));
  REQUIRE(feeds->size() == config->feeds.size());
  for (std::size_t i = 0; i < feeds->size(); ++i) {
    CHECK((*feeds)[i].url == config->feeds[i].url);
    CHECK((*feeds)[i].title == config->feeds[i].title);
    CHECK((*feeds)[i].category == config->feeds[i].category);
  }
}

// ---- appending to a config file ---------------------------------------------------------------

FeedConfig feed(std::string url, std::string title = "", std::string category = "") {
  FeedConfig out;
  out.url = std::move(url);
  out.title = std::move(title);
  out.category = std::move(category);
  return out;
}

TEST_CASE("appending keeps the file byte for byte, adds tables after it and writes a backup") {
  ScratchFolder folder;
  const auto path = folder / "feedmerge.toml";
  const std::string original = read_bytes(kConfigData + "commented.toml");
  write_bytes(path, original);
  REQUIRE(::chmod(path.c_str(), 0640) == 0);

  auto result = append_feeds_to_config(
      path, {feed("https://krebsonsecurity.com/feed/", "Krebs on Security", "security"),
             feed("https://LWN.net/headlines/rss", "LWN again")});
  if (!result) FAIL(describe(result.error()));
  CHECK(result->appended == 1);
  CHECK(result->skipped == 1);  // the same URL as a configured feed, in another case
  REQUIRE(result->skipped_feeds.size() == 1);
  CHECK(result->skipped_feeds[0].url == "https://LWN.net/headlines/rss");
  CHECK(result->skipped_feeds[0].listed_url == "https://lwn.net/headlines/rss");
  CHECK(result->skipped_feeds[0].listed_line == 11);
  CHECK(result->skipped_feeds[0].in_config);
  CHECK(result->backup_path == path.string() + ".bak");
  CHECK(read_bytes(result->backup_path) == original);
  const std::string updated = read_bytes(path);
  CHECK(updated == original +
                       "\n"
                       "# Added by feedmerge import-opml\n"
                       "[[feed]]\n"
                       "url = \"https://krebsonsecurity.com/feed/\"\n"
                       "title = \"Krebs on Security\"\n"
                       "category = \"security\"\n");
  struct stat status {};
  REQUIRE(::stat(path.c_str(), &status) == 0);
  CHECK((status.st_mode & 0777) == 0640);
  REQUIRE(::stat(result->backup_path.c_str(), &status) == 0);
  CHECK((status.st_mode & 0777) == 0640);
  auto config = load_config(path);
  REQUIRE(config.has_value());
  CHECK(config->feeds.size() == 3);

  SUBCASE("nothing new: nothing written, no backup") {
    auto again = append_feeds_to_config(path, {feed("https://krebsonsecurity.com/feed/")});
    REQUIRE(again.has_value());
    CHECK(again->appended == 0);
    CHECK(again->skipped == 1);
    CHECK(again->backup_path == "");
    CHECK(read_bytes(path) == updated);
    CHECK(!std::filesystem::exists(path.string() + ".bak.1"));
  }
  SUBCASE("a second append keeps the first backup and numbers the next") {
    auto again = append_feeds_to_config(path, {feed("https://www.schneier.com/feed/atom/")});
    REQUIRE(again.has_value());
    CHECK(again->backup_path == path.string() + ".bak.1");
    CHECK(read_bytes(path.string() + ".bak") == original);
    CHECK(read_bytes(again->backup_path) == updated);
    CHECK(read_bytes(path).starts_with(updated));
  }
}

TEST_CASE("appending keeps the configured form of a feed given in another form") {
  // Issue 13: http/https, a trailing slash, feed: and a default port are one feed.
  ScratchFolder folder;
  const auto path = folder / "feedmerge.toml";
  const std::string original = read_bytes(kConfigData + "commented.toml");
  write_bytes(path, original);
  FeedConfig verge = feed("http://www.theverge.com:80/rss/index.xml/");
  verge.line = 7;
  FeedConfig twice = feed("https://a.example/feed");
  twice.line = 8;
  FeedConfig again = feed("https://a.example:443/feed#new");
  again.line = 9;
  auto result = append_feeds_to_config(path, {verge, twice, again});
  if (!result) FAIL(describe(result.error()));
  CHECK(result->appended == 1);
  CHECK(result->skipped == 2);
  REQUIRE(result->skipped_feeds.size() == 2);
  CHECK(result->skipped_feeds[0].url == "http://www.theverge.com:80/rss/index.xml/");
  CHECK(result->skipped_feeds[0].line == 7);
  CHECK(result->skipped_feeds[0].listed_url == "https://www.theverge.com/rss/index.xml");
  CHECK(result->skipped_feeds[0].listed_line == 7);
  CHECK(result->skipped_feeds[0].in_config);
  CHECK(result->skipped_feeds[1].url == "https://a.example:443/feed#new");
  CHECK(result->skipped_feeds[1].listed_line == 8);
  CHECK(!result->skipped_feeds[1].in_config);
  auto config = load_config(path);
  REQUIRE(config.has_value());
  CHECK(config->warnings.empty());
  REQUIRE(config->feeds.size() == 3);
  CHECK(config->feeds[0].url == "https://www.theverge.com/rss/index.xml");
  CHECK(config->feeds[2].url == "https://a.example/feed");
}

TEST_CASE("appending keeps CRLF line endings and ends a last line that had none") {
  ScratchFolder folder;
  SUBCASE("CRLF") {
    const auto path = folder / "crlf.toml";
    write_bytes(path, "[poll]\r\ninterval = \"45m\"\r\n");
    auto result = append_feeds_to_config(path, {feed("https://a.example/feed")});
    REQUIRE(result.has_value());
    CHECK(read_bytes(path) ==
          "[poll]\r\ninterval = \"45m\"\r\n\r\n# Added by feedmerge import-opml\r\n"
          "[[feed]]\r\nurl = \"https://a.example/feed\"\r\n");
  }
  SUBCASE("no newline at the end") {
    const auto path = folder / "open.toml";
    write_bytes(path, "# just a comment");
    auto result = append_feeds_to_config(path, {feed("https://a.example/feed")});
    REQUIRE(result.has_value());
    CHECK(read_bytes(path) ==
          "# just a comment\n\n# Added by feedmerge import-opml\n"
          "[[feed]]\nurl = \"https://a.example/feed\"\n");
  }
}

TEST_CASE("appending through a symbolic link replaces the file it names") {
  ScratchFolder folder;
  const auto real = folder / "real.toml";
  const auto link = folder / "feedmerge.toml";
  write_bytes(real, "# real\n");
  std::filesystem::create_symlink(real, link);
  auto result = append_feeds_to_config(link, {feed("https://a.example/feed")});
  REQUIRE(result.has_value());
  CHECK(std::filesystem::is_symlink(link));
  CHECK(read_bytes(real).starts_with("# real\n\n# Added by feedmerge import-opml\n"));
}

TEST_CASE("appending to a file that is invalid, or would become so, changes nothing") {
  ScratchFolder folder;
  SUBCASE("invalid to start with") {
    const auto path = folder / "bad.toml";
    write_bytes(path, "[poll]\ninterval = \"soon\"\n");
    auto result = append_feeds_to_config(path, {feed("https://a.example/feed")});
    REQUIRE(!result.has_value());
    CHECK(describe(result.error()) == "2:12: poll.interval: expected a duration like \"30m\"");
    CHECK(read_bytes(path) == "[poll]\ninterval = \"soon\"\n");
    CHECK(!std::filesystem::exists(path.string() + ".bak"));
  }
  SUBCASE("feeds written as an inline array cannot take [[feed]] tables") {
    const auto path = folder / "inline.toml";
    const std::string text = "feed = [{ url = \"https://b.example/\" }]\n";
    write_bytes(path, text);
    auto result = append_feeds_to_config(path, {feed("https://a.example/feed")});
    REQUIRE(!result.has_value());
    CHECK(result.error().message.starts_with("the feeds cannot be appended to this file: "));
    CHECK(read_bytes(path) == text);
    CHECK(!std::filesystem::exists(path.string() + ".bak"));
  }
  SUBCASE("a missing file") {
    auto result = append_feeds_to_config(folder / "missing.toml", {feed("https://a.example/")});
    REQUIRE(!result.has_value());
    CHECK(result.error().kind == ErrorKind::io);
  }
}

}  // namespace
}  // namespace feedmerge::config
