#include "store/item_codec.h"

#include <doctest/doctest.h>
#include <xxhash.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace {

using feedmerge::model::Enclosure;
using feedmerge::model::Item;
using feedmerge::model::Time;
using namespace feedmerge::store::detail;

Item full_item() {
  Item item;
  item.id = "urn:x";
  item.title = "Title";
  item.link = "https://example.com/a";
  item.published = Time{std::chrono::seconds{1700000000}};
  item.updated = Time{std::chrono::seconds{1700000100}};
  item.authors = {"Ana", "Bo"};
  item.summary = "<p>Summary</p>";
  item.content = "<p>Content</p>";
  item.categories = {"tech", "eu"};
  item.image = "https://example.com/a.png";
  item.enclosures = {{"https://example.com/a.mp3", "audio/mpeg", 42}};
  return item;
}

}  // namespace

TEST_CASE("the content hash changes with every field a reader would notice") {
  const Item base = full_item();
  const std::vector<std::pair<const char*, std::function<void(Item&)>>> edits = {
      {"title", [](Item& i) { i.title += "!"; }},
      {"link", [](Item& i) { i.link += "?x"; }},
      {"summary", [](Item& i) { i.summary.clear(); }},
      {"content", [](Item& i) { i.content += " "; }},
      {"authors", [](Item& i) { i.authors.pop_back(); }},
      {"categories", [](Item& i) { i.categories.push_back("more"); }},
      {"image", [](Item& i) { i.image.clear(); }},
      {"enclosure url", [](Item& i) { i.enclosures[0].url += "2"; }},
      {"enclosure type", [](Item& i) { i.enclosures[0].type = "audio/ogg"; }},
      {"enclosure length", [](Item& i) { i.enclosures[0].length.reset(); }},
      {"published", [](Item& i) { i.published.reset(); }},
      {"updated", [](Item& i) { *i.updated += std::chrono::seconds{1}; }},
  };
  for (const auto& [field, edit] : edits) {
    CAPTURE(field);
    Item edited = base;
    edit(edited);
    CHECK(content_hash(edited) != content_hash(base));
  }
  CHECK(content_hash(full_item()) == content_hash(base));
}

// Stored items carry this hash: a different layout would make every item of an existing
// database look changed on the next poll. The layout, written out independently: each text
// as its length (8 bytes, little-endian) then its bytes, counts and optional markers as such
// numbers, all hashed as one XXH3-64.
TEST_CASE("the content hash keeps the layout stored databases were written with") {
  auto expected = [](const Item& item) {
    std::string bytes;
    auto number = [&](std::uint64_t value) {
      for (int i = 0; i < 8; ++i)
        bytes.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
    };
    auto text = [&](const std::string& value) {
      number(value.size());
      bytes += value;
    };
    auto optional = [&](const auto& value, auto as_number) {
      number(value ? 1 : 0);
      if (value) number(as_number(*value));
    };
    auto seconds = [](const Time& t) {
      return static_cast<std::uint64_t>(t.time_since_epoch().count());
    };
    auto integer = [](std::int64_t v) { return static_cast<std::uint64_t>(v); };
    text(item.title);
    text(item.link);
    text(item.summary);
    text(item.content);
    number(item.authors.size());
    for (const auto& author : item.authors)
      text(author);
    number(item.categories.size());
    for (const auto& category : item.categories)
      text(category);
    text(item.image);
    number(item.enclosures.size());
    for (const auto& enclosure : item.enclosures) {
      text(enclosure.url);
      text(enclosure.type);
      optional(enclosure.length, integer);
    }
    optional(item.published, seconds);
    optional(item.updated, seconds);
    return XXH3_64bits(bytes.data(), bytes.size());
  };
  const Item item = full_item();
  CHECK(content_hash(item) == expected(item));
  // Past XXH3's short-input paths (240 bytes) and its 1 KB blocks.
  Item long_item = item;
  long_item.content.assign(5000, 'x');
  long_item.enclosures.clear();
  long_item.updated.reset();
  CHECK(content_hash(long_item) == expected(long_item));
}

TEST_CASE("moving text from one field to the next changes the content hash") {
  Item a = full_item();
  Item b = a;
  a.title = "ab";
  a.link = "c";
  b.title = "a";
  b.link = "bc";
  CHECK(content_hash(a) != content_hash(b));
  Item c = full_item();
  Item d = c;
  c.authors = {"a", "b"};
  c.categories = {};
  d.authors = {"a"};
  d.categories = {"b"};
  CHECK(content_hash(c) != content_hash(d));
}

TEST_CASE("item keys fall back from id to link to a hash") {
  Item item = full_item();
  CHECK(item_key(item) == "urn:x");
  item.id.clear();
  CHECK(item_key(item) == "https://example.com/a");
  item.link.clear();
  const std::string hashed = item_key(item);
  CHECK(hashed.starts_with("hash:"));
  CHECK(hashed.size() == 21);
  // Fields outside title, summary, content and date do not move the key.
  item.categories.clear();
  item.image.clear();
  CHECK(item_key(item) == hashed);
  item.published.reset();
  CHECK(item_key(item) != hashed);
}

TEST_CASE("an overlong id is keyed by its hash") {
  Item item = full_item();
  item.id = std::string(kMaxKeyBytes, 'x');
  CHECK(item_key(item) == item.id);
  item.id += "x";
  CHECK(item_key(item).starts_with("long:"));
  CHECK(item_key(item).size() == 21);
}

TEST_CASE("list fields round-trip through JSON text") {
  const std::vector<std::string> strings = {"Zoë", "a \"quoted\" \\ name", ""};
  CHECK(strings_from_json(strings_to_json(strings)).value() == strings);
  CHECK(strings_to_json({}) == "[]");

  const std::vector<Enclosure> enclosures = {{"https://e/1.mp3", "audio/mpeg", 9000000000},
                                             {"https://e/2", "", std::nullopt}};
  CHECK(enclosures_from_json(enclosures_to_json(enclosures)).value() == enclosures);

  CHECK(!strings_from_json("not json").has_value());
  CHECK(!enclosures_from_json("[1]").has_value());
}

TEST_CASE("to_hex writes 16 lowercase digits") {
  CHECK(to_hex(0) == "0000000000000000");
  CHECK(to_hex(0xfedcba9876543210ull) == "fedcba9876543210");
}
