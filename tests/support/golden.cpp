#include "support/golden.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <boost/json.hpp>

namespace feedmerge::test {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::string_view kGoldenSuffix = ".expected.json";
constexpr std::string_view kErrorSuffix = ".expected-error";
constexpr std::string_view kContentTypeSuffix = ".content-type";
constexpr std::string_view kBaseUrlSuffix = ".base-url";

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool is_document(const fs::path& path) {
  const std::string name = path.filename().string();
  if (ends_with(name, kGoldenSuffix)) return false;
  const std::string ext = path.extension().string();
  return ext == ".xml" || ext == ".rss" || ext == ".atom" || ext == ".rdf" || ext == ".json";
}

// A sidecar or golden: the suffix it has, or "" for any other file (README.md, scripts).
std::string_view sidecar_suffix(std::string_view name) {
  for (std::string_view suffix :
       {kGoldenSuffix, kErrorSuffix, kContentTypeSuffix, kBaseUrlSuffix}) {
    if (ends_with(name, suffix) && name.size() > suffix.size()) return suffix;
  }
  return {};
}

std::string generic_relative(const fs::path& path, const fs::path& root) {
  return path.lexically_relative(root).generic_string();
}

// ---- JSON comparison --------------------------------------------------------------------

std::string show(const json::value& value) {
  std::string text = json::serialize(value);
  constexpr std::size_t kMaxShown = 300;  // long summaries stay readable in a report
  if (text.size() > kMaxShown) text = text.substr(0, kMaxShown) + "...";
  return text;
}

bool is_number(const json::value& value) {
  return value.is_int64() || value.is_uint64() || value.is_double();
}

bool numbers_equal(const json::value& a, const json::value& b) {
  if (a.is_double() || b.is_double()) return json::value_to<double>(a) == json::value_to<double>(b);
  if (a.is_int64() && b.is_int64()) return a.get_int64() == b.get_int64();
  if (a.is_uint64() && b.is_uint64()) return a.get_uint64() == b.get_uint64();
  const json::value& signed_one = a.is_int64() ? a : b;
  const json::value& unsigned_one = a.is_int64() ? b : a;
  return signed_one.get_int64() >= 0 &&
         static_cast<std::uint64_t>(signed_one.get_int64()) == unsigned_one.get_uint64();
}

std::string child_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

void compare(const std::string& path, const json::value& expected, const json::value& actual,
             std::vector<std::string>& out) {
  const std::string where = path.empty() ? "(document)" : path;
  if (is_number(expected) && is_number(actual)) {
    if (!numbers_equal(expected, actual)) {
      out.push_back(where + ": expected " + show(expected) + ", got " + show(actual));
    }
    return;
  }
  if (expected.kind() != actual.kind()) {
    out.push_back(where + ": expected " + show(expected) + ", got " + show(actual));
    return;
  }
  if (expected.is_object()) {
    const json::object& e = expected.get_object();
    const json::object& a = actual.get_object();
    for (const auto& [key, value] : e) {
      const std::string sub = child_path(path, key);
      if (const json::value* other = a.if_contains(key)) {
        compare(sub, value, *other, out);
      } else {
        out.push_back(sub + ": missing, expected " + show(value));
      }
    }
    for (const auto& [key, value] : a) {
      if (!e.contains(key)) out.push_back(child_path(path, key) + ": unexpected " + show(value));
    }
    return;
  }
  if (expected.is_array()) {
    const json::array& e = expected.get_array();
    const json::array& a = actual.get_array();
    if (e.size() != a.size()) {
      out.push_back(where + ": expected " + std::to_string(e.size()) + " elements, got " +
                    std::to_string(a.size()));
    }
    const std::size_t common = std::min(e.size(), a.size());
    for (std::size_t i = 0; i < common; ++i) {
      compare(path + "[" + std::to_string(i) + "]", e[i], a[i], out);
    }
    for (std::size_t i = common; i < e.size(); ++i) {
      out.push_back(path + "[" + std::to_string(i) + "]: missing, expected " + show(e[i]));
    }
    for (std::size_t i = common; i < a.size(); ++i) {
      out.push_back(path + "[" + std::to_string(i) + "]: unexpected " + show(a[i]));
    }
    return;
  }
  if (expected != actual) {
    out.push_back(where + ": expected " + show(expected) + ", got " + show(actual));
  }
}

bool parse_int(std::string_view text, int& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size() && out >= 0;
}

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string read_sidecar(const fs::path& path) {
  const std::string text = read_file(path);
  const std::string_view first_line = std::string_view(text).substr(0, text.find('\n'));
  constexpr std::string_view kSpace = " \t\r\n";
  const std::size_t begin = first_line.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  const std::size_t end = first_line.find_last_not_of(kSpace);
  return std::string(first_line.substr(begin, end - begin + 1));
}

FixtureSet find_fixtures(const fs::path& root) {
  FixtureSet set;
  std::map<std::string, fs::path> documents_by_stem;  // "rss2.0/basic" -> rss2.0/basic.xml
  std::map<std::string, std::map<std::string_view, fs::path>> sidecars_by_stem;

  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    const fs::path& path = entry.path();
    const std::string name = path.filename().string();
    const std::string dir = generic_relative(path.parent_path(), root);
    const std::string prefix = dir == "." ? std::string() : dir + "/";
    if (is_document(path)) {
      const std::string stem = prefix + path.stem().string();
      auto [it, inserted] = documents_by_stem.emplace(stem, path);
      if (!inserted) {
        set.problems.push_back(generic_relative(path, root) + " and " +
                               generic_relative(it->second, root) +
                               " share a stem, so their sidecars would be ambiguous");
      }
    } else if (const std::string_view suffix = sidecar_suffix(name); !suffix.empty()) {
      const std::string stem = prefix + name.substr(0, name.size() - suffix.size());
      sidecars_by_stem[stem][suffix] = path;
    }
  }

  for (const auto& [stem, document] : documents_by_stem) {
    Fixture fixture;
    fixture.name = generic_relative(document, root);
    fixture.document = document;
    const auto found = sidecars_by_stem.find(stem);
    if (found != sidecars_by_stem.end()) {
      const auto& sidecars = found->second;
      auto get = [&](std::string_view suffix) -> fs::path {
        const auto it = sidecars.find(suffix);
        return it == sidecars.end() ? fs::path() : it->second;
      };
      fixture.golden = get(kGoldenSuffix);
      fixture.expected_error = get(kErrorSuffix);
      if (const fs::path p = get(kContentTypeSuffix); !p.empty()) {
        fixture.content_type = read_sidecar(p);
      }
      if (const fs::path p = get(kBaseUrlSuffix); !p.empty()) fixture.base_url = read_sidecar(p);
    }
    if (fixture.golden.empty() && fixture.expected_error.empty()) {
      set.problems.push_back(fixture.name + " has neither " + stem.substr(stem.rfind('/') + 1) +
                             std::string(kGoldenSuffix) + " nor " +
                             stem.substr(stem.rfind('/') + 1) + std::string(kErrorSuffix));
    } else if (!fixture.golden.empty() && !fixture.expected_error.empty()) {
      set.problems.push_back(fixture.name + " has both a golden file and an expected error");
    }
    set.fixtures.push_back(std::move(fixture));
  }

  for (const auto& [stem, sidecars] : sidecars_by_stem) {
    if (documents_by_stem.count(stem) != 0) continue;
    for (const auto& [suffix, path] : sidecars) {
      set.problems.push_back(generic_relative(path, root) + " has no document beside it");
    }
  }

  std::sort(set.fixtures.begin(), set.fixtures.end(),
            [](const Fixture& a, const Fixture& b) { return a.name < b.name; });
  std::sort(set.problems.begin(), set.problems.end());
  return set;
}

std::vector<std::string> json_differences(std::string_view expected_json,
                                          std::string_view actual_json) {
  std::vector<std::string> out;
  boost::system::error_code ec;
  const json::value expected = json::parse(expected_json, ec);
  if (ec) {
    out.push_back("(golden): not JSON: " + ec.message());
    return out;
  }
  const json::value actual = json::parse(actual_json, ec);
  if (ec) {
    out.push_back("(output): not JSON: " + ec.message());
    return out;
  }
  compare("", expected, actual, out);
  return out;
}

bool parse_expected_error(std::string_view line, ExpectedError& out) {
  constexpr std::string_view kMarker = ": error: ";
  const std::size_t marker = line.find(kMarker);
  if (marker == std::string_view::npos) return false;
  const std::string_view position = line.substr(0, marker);
  const std::size_t colon = position.find(':');
  if (colon == std::string_view::npos) return false;
  if (!parse_int(position.substr(0, colon), out.line)) return false;
  if (!parse_int(position.substr(colon + 1), out.column)) return false;
  out.text = std::string(line.substr(marker + kMarker.size()));
  return !out.text.empty();
}

std::string match_error(const ExpectedError& expected, int line, int column,
                        std::string_view message) {
  std::string problems;
  if (line != expected.line || column != expected.column) {
    problems += "position: expected " + std::to_string(expected.line) + ":" +
                std::to_string(expected.column) + ", got " + std::to_string(line) + ":" +
                std::to_string(column) + "\n";
  }
  if (lower_ascii(message).find(lower_ascii(expected.text)) == std::string::npos) {
    problems += "message: expected it to contain \"" + expected.text + "\", got \"" +
                std::string(message) + "\"\n";
  }
  return problems;
}

}  // namespace feedmerge::test
