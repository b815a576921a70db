// Golden-file support for the parser fixtures in tests/data/parse: finds each fixture with its
// sidecars, compares `feedmerge parse` JSON as values, and matches expected errors. The rules
// are written down in tests/data/parse/README.md; tests/cli/parse_cli_test.py applies the same
// rules to the real binary. Test-only; plain functions, thread-compatible.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace feedmerge::test {

// One feed document under the fixture root and what it must produce.
struct Fixture {
  std::string name;                      // relative to the root, '/'-separated: "rss2.0/basic.xml"
  std::filesystem::path document;        // the feed bytes
  std::filesystem::path golden;          // <stem>.expected.json; empty when the document is refused
  std::filesystem::path expected_error;  // <stem>.expected-error; empty when it has a golden
  std::string content_type;              // <stem>.content-type, "" when there is none
  std::string base_url;                  // <stem>.base-url, "" when there is none
};

struct FixtureSet {
  std::vector<Fixture> fixtures;  // sorted by name
  // Layout mistakes that would leave something untested: a document with neither a golden nor
  // an expected error (or with both), a golden or sidecar without its document, two documents
  // sharing a stem. Each names the file.
  std::vector<std::string> problems;
};

// Documents are *.xml, *.rss, *.atom, *.rdf and *.json (but not *.expected.json), found
// recursively under `root`.
FixtureSet find_fixtures(const std::filesystem::path& root);

// The whole file as bytes; throws std::runtime_error naming the file when it cannot be read.
std::string read_file(const std::filesystem::path& path);

// The first line of a one-line sidecar, without its line ending and surrounding white space.
std::string read_sidecar(const std::filesystem::path& path);

// Every difference between two JSON texts compared as values (numbers by value, object keys in
// any order, arrays in order), one line each: `items[0].title: expected "A", got "B"`. Empty
// when equal. A text that is not JSON is reported as one difference.
std::vector<std::string> json_differences(std::string_view expected_json,
                                          std::string_view actual_json);

// An .expected-error file: "LINE:COLUMN: error: TEXT".
struct ExpectedError {
  int line = 0;
  int column = 0;
  std::string text;
};

// Reads the one line of an .expected-error file; false when it does not have that shape.
bool parse_expected_error(std::string_view line, ExpectedError& out);

// The matching rule: the position must be equal and `text` must occur in `message`, ignoring
// ASCII case. Returns "" on a match, else what differs.
std::string match_error(const ExpectedError& expected, int line, int column,
                        std::string_view message);

}  // namespace feedmerge::test
