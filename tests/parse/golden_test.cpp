// Runs every fixture in tests/data/parse through parse_feed and to_parse_json and compares the
// result with its hand-written golden file (or its expected error). The rules are in
// tests/data/parse/README.md.
#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include "feedmerge/parse/parse_json.h"
#include "feedmerge/parse/parser.h"
#include "support/golden.h"

namespace {

namespace fs = std::filesystem;
using feedmerge::test::ExpectedError;
using feedmerge::test::Fixture;

const fs::path kParseData = fs::path(FEEDMERGE_TEST_DATA) / "parse";

std::string join_lines(const std::vector<std::string>& lines) {
  std::ostringstream out;
  for (const std::string& line : lines)
    out << "  " << line << "\n";
  return out.str();
}

void check_fixture(const Fixture& fixture) {
  const std::string bytes = feedmerge::test::read_file(fixture.document);
  const feedmerge::parse::ParseInput input{bytes, fixture.content_type, fixture.base_url};
  const auto parsed = feedmerge::parse::parse_feed(input);

  if (!fixture.expected_error.empty()) {
    ExpectedError expected;
    const std::string line = feedmerge::test::read_sidecar(fixture.expected_error);
    REQUIRE_MESSAGE(feedmerge::test::parse_expected_error(line, expected),
                    fixture.expected_error.string() << " is not \"LINE:COLUMN: error: TEXT\"");
    if (parsed.has_value()) {
      FAIL_CHECK(fixture.name << " was accepted but must be refused (" << line << "); output:\n"
                              << feedmerge::parse::to_parse_json(*parsed));
      return;
    }
    const feedmerge::Error& error = parsed.error();
    const std::string problems =
        feedmerge::test::match_error(expected, error.line, error.column, error.message);
    CHECK_MESSAGE(problems.empty(), fixture.name << ": wrong error\n" << problems);
    return;
  }

  if (!parsed.has_value()) {
    const feedmerge::Error& error = parsed.error();
    FAIL_CHECK(fixture.name << " was refused: " << error.line << ":" << error.column
                            << ": error: " << error.message);
    return;
  }
  const std::string actual = feedmerge::parse::to_parse_json(*parsed);
  const std::string golden = feedmerge::test::read_file(fixture.golden);
  const auto differences = feedmerge::test::json_differences(golden, actual);
  CHECK_MESSAGE(differences.empty(), fixture.name << " differs from "
                                                  << fixture.golden.filename().string() << ":\n"
                                                  << join_lines(differences));
}

}  // namespace

TEST_CASE("every parse fixture has a golden file or an expected error") {
  const auto set = feedmerge::test::find_fixtures(kParseData);
  CHECK_MESSAGE(set.fixtures.size() >= 50,
                "found only " << set.fixtures.size() << " fixtures in " << kParseData.string());
  CHECK_MESSAGE(set.problems.empty(), "fixture layout problems:\n" << join_lines(set.problems));
}

TEST_CASE("parse fixtures match their golden files") {
  const auto set = feedmerge::test::find_fixtures(kParseData);
  REQUIRE_FALSE(set.fixtures.empty());
  // One subcase per fixture, so that each failure names its file and the others still run.
  for (const Fixture& fixture : set.fixtures) {
    SUBCASE(fixture.name.c_str()) {
      check_fixture(fixture);
    }
  }
}

// The golden comparison itself must be able to fail, and must say where.
TEST_CASE("golden comparison reports each differing path with both values") {
  const auto differences = feedmerge::test::json_differences(
      R"({"title": "A", "items": [{"id": "1", "length": 12}, {"id": "2"}], "gone": null})",
      R"({"title": "B", "items": [{"id": "1", "length": 12.0}], "extra": []})");
  REQUIRE(differences.size() == 5);
  CHECK(differences[0] == R"(title: expected "A", got "B")");
  CHECK(differences[1] == "items: expected 2 elements, got 1");
  CHECK(differences[2] == R"(items[1]: missing, expected {"id":"2"})");
  CHECK(differences[3] == "gone: missing, expected null");
  CHECK(differences[4] == "extra: unexpected []");
}

TEST_CASE("golden comparison treats numbers by value and keys in any order") {
  CHECK(feedmerge::test::json_differences(R"({"a": 1, "b": [true, null]})",
                                          R"({"b": [true, null], "a": 1})")
            .empty());
  CHECK(
      feedmerge::test::json_differences(R"({"n": 18446744073709551615})", R"({"n": -1})").size() ==
      1);
  CHECK(feedmerge::test::json_differences("{}", "not json").size() == 1);
}

TEST_CASE("expected errors match position exactly and message text ignoring case") {
  ExpectedError expected;
  REQUIRE(feedmerge::test::parse_expected_error("258:1: error: too deep", expected));
  CHECK(expected.line == 258);
  CHECK(expected.column == 1);
  CHECK(expected.text == "too deep");
  CHECK(feedmerge::test::match_error(expected, 258, 1, "Nesting Too Deep: 257 > 256").empty());
  CHECK_FALSE(feedmerge::test::match_error(expected, 258, 2, "too deep").empty());
  CHECK_FALSE(feedmerge::test::match_error(expected, 258, 1, "not a feed").empty());
  CHECK_FALSE(feedmerge::test::parse_expected_error("error: too deep", expected));
  CHECK_FALSE(feedmerge::test::parse_expected_error("x:1: error: too deep", expected));
}
