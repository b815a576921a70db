#include "fetch/http_headers.h"

#include <chrono>
#include <string>

#include <doctest/doctest.h>

namespace {

using feedmerge::fetch::is_status_line;
using feedmerge::fetch::kMaxDeltaSeconds;
using feedmerge::fetch::parse_max_age;
using feedmerge::fetch::parse_retry_after;
using feedmerge::fetch::ResponseHeaders;
using feedmerge::fetch::split_header_line;
using std::chrono::seconds;
using std::chrono::sys_days;

// Sun, 06 Nov 1994 08:49:37 GMT, the example date of RFC 9110.
const std::chrono::sys_seconds kRfcExample = sys_days(std::chrono::year(1994) / 11 / 6) +
                                             std::chrono::hours(8) + std::chrono::minutes(49) +
                                             seconds(37);

}  // namespace

TEST_CASE("a header line splits into name and trimmed value") {
  auto field = split_header_line("ETag:  \"abc\" \r\n");
  REQUIRE(field);
  CHECK(field->name == "ETag");
  CHECK(field->value == "\"abc\"");

  field = split_header_line("retry-after:120\r\n");
  REQUIRE(field);
  CHECK(field->name == "retry-after");
  CHECK(field->value == "120");

  field = split_header_line("X-Empty:\r\n");
  REQUIRE(field);
  CHECK(field->value.empty());

  SUBCASE("a value keeps its own colons") {
    field = split_header_line("Location: http://example.test:8080/a\r\n");
    REQUIRE(field);
    CHECK(field->value == "http://example.test:8080/a");
  }
}

TEST_CASE("status lines, blank lines, folded lines and malformed lines are not fields") {
  CHECK_FALSE(split_header_line("HTTP/1.1 200 OK\r\n"));
  CHECK_FALSE(split_header_line("HTTP/2 304\r\n"));
  CHECK_FALSE(split_header_line("\r\n"));
  CHECK_FALSE(split_header_line(" continued value\r\n"));
  CHECK_FALSE(split_header_line("\tcontinued value\r\n"));
  CHECK_FALSE(split_header_line("no colon here\r\n"));
  CHECK_FALSE(split_header_line(": no name\r\n"));
  CHECK_FALSE(split_header_line("Bad Name: value\r\n"));
  CHECK(is_status_line("HTTP/1.0 503 Service Unavailable\r\n"));
  CHECK_FALSE(is_status_line("Http-Thing: 1\r\n"));
}

TEST_CASE("Retry-After as delta-seconds is that many seconds") {
  CHECK(parse_retry_after("120", kRfcExample) == seconds(120));
  CHECK(parse_retry_after(" 0 ", kRfcExample) == seconds(0));
  CHECK(parse_retry_after("99999999999999999999999", kRfcExample) == kMaxDeltaSeconds);
}

TEST_CASE("Retry-After as an HTTP date is the wait from the given now, in all three forms") {
  const auto now = kRfcExample - std::chrono::hours(1);
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now) == seconds(3600));   // IMF
  CHECK(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now) == seconds(3600));  // RFC 850
  CHECK(parse_retry_after("Sun Nov  6 08:49:37 1994", now) == seconds(3600));        // asctime
}

TEST_CASE("Retry-After in the past means retry now") {
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", kRfcExample + seconds(5)) == seconds(0));
}

TEST_CASE("Retry-After that is neither form is ignored") {
  CHECK_FALSE(parse_retry_after("", kRfcExample));
  CHECK_FALSE(parse_retry_after("-5", kRfcExample));
  CHECK_FALSE(parse_retry_after("1.5", kRfcExample));
  CHECK_FALSE(parse_retry_after("soon", kRfcExample));
}

TEST_CASE("Cache-Control max-age is read among other directives") {
  CHECK(parse_max_age("max-age=300") == seconds(300));
  CHECK(parse_max_age("public, max-age=300, must-revalidate") == seconds(300));
  CHECK(parse_max_age("Public,MAX-AGE=60") == seconds(60));
  CHECK(parse_max_age("max-age=\"90\"") == seconds(90));
  CHECK(parse_max_age("max-age = 45") == seconds(45));
  CHECK(parse_max_age("max-age=10, max-age=20") == seconds(10));
  CHECK(parse_max_age("max-age=99999999999999999999") == kMaxDeltaSeconds);
}

TEST_CASE("a max-age inside another directive's quoted string does not count") {
  CHECK(parse_max_age("private=\"Set-Cookie, max-age=5\", max-age=60") == seconds(60));
  CHECK_FALSE(parse_max_age("no-cache=\"x, max-age=5\""));
}

TEST_CASE("Cache-Control without a valid max-age has none") {
  CHECK_FALSE(parse_max_age(""));
  CHECK_FALSE(parse_max_age("no-store"));
  CHECK_FALSE(parse_max_age("s-maxage=600"));
  CHECK_FALSE(parse_max_age("max-age=abc"));
  CHECK_FALSE(parse_max_age("max-age=-1"));
  CHECK_FALSE(parse_max_age("max-age="));
}

TEST_CASE("ResponseHeaders keeps only the final response's fields") {
  ResponseHeaders headers;
  headers.add_line("HTTP/1.1 301 Moved Permanently\r\n");
  headers.add_line("ETag: \"old\"\r\n");
  headers.add_line("Retry-After: 5\r\n");
  headers.add_line("\r\n");
  headers.add_line("HTTP/1.1 200 OK\r\n");
  headers.add_line("etag: W/\"new\"\r\n");
  headers.add_line("Last-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
  headers.add_line("Content-Type: application/rss+xml\r\n");
  headers.add_line("Date: Sun, 06 Nov 1994 08:50:00 GMT\r\n");
  headers.add_line("\r\n");
  CHECK(headers.etag() == "W/\"new\"");
  CHECK(headers.last_modified() == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(headers.content_type() == "application/rss+xml");
  CHECK(headers.date() == "Sun, 06 Nov 1994 08:50:00 GMT");
  CHECK(headers.retry_after().empty());
}

TEST_CASE("repeated Cache-Control fields are joined") {
  ResponseHeaders headers;
  headers.add_line("HTTP/1.1 200 OK\r\n");
  headers.add_line("Cache-Control: public\r\n");
  headers.add_line("Cache-Control: max-age=30\r\n");
  CHECK(headers.cache_control() == "public, max-age=30");
  CHECK(parse_max_age(headers.cache_control()) == seconds(30));
}

TEST_CASE("an oversized header value is cut rather than kept whole") {
  ResponseHeaders headers;
  headers.add_line("ETag: \"" + std::string(100000, 'a') + "\"\r\n");
  CHECK(headers.etag().size() == 8 * 1024);
}
