// Pure helpers for the HTTP response headers the fetcher reads: splitting curl's raw header
// lines, collecting the fields feedmerge uses from the last response of a transfer, and
// reading Retry-After and Cache-Control max-age. No I/O; thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace feedmerge::fetch {

// RFC 9111 5.2.2.1 / 1.2.2: a delta-seconds value too large to represent counts as 2^31.
inline constexpr std::chrono::seconds kMaxDeltaSeconds{2147483648LL};

struct HeaderField {
  std::string_view name;   // as sent; compare case-insensitively
  std::string_view value;  // without surrounding white space and the line ending
};

// "Name: value\r\n" as curl's header callback delivers it. std::nullopt for a status line, the
// blank line that ends a block, an obsolete folded continuation line (starts with white space),
// and a line without a colon or with white space in its name.
std::optional<HeaderField> split_header_line(std::string_view line);

// "HTTP/1.1 200 OK", "HTTP/2 304": the line that starts each response, including interim ones
// (100 Continue) and a proxy's answer to CONNECT.
bool is_status_line(std::string_view line);

// ASCII case-insensitive equality, for header and directive names.
bool equals_ignoring_case(std::string_view a, std::string_view b);

// Retry-After (RFC 9110 10.2.3): delta-seconds, or an HTTP-date (IMF-fixdate, RFC 850 or
// asctime) turned into the wait from `now`. `now` should be the response's own Date when it has
// one, so the server's clock is compared with the server's clock. A date in the past is a
// wait of zero. std::nullopt when the value is neither form.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::sys_seconds now);

// The max-age directive of a Cache-Control value ("public, max-age=300"), the first one when
// several appear; quoted values ("max-age=\"60\"") are accepted, commas inside other
// directives' quoted strings are skipped. std::nullopt without a valid max-age.
std::optional<std::chrono::seconds> parse_max_age(std::string_view cache_control);

// The fields of one response that the fetcher reports. Feed it every header line of a
// transfer in order: a status line starts over, so only the final response's fields remain
// (not those of a 100 Continue or of a proxy's CONNECT answer).
class ResponseHeaders {
 public:
  void add_line(std::string_view line);

  const std::string& etag() const { return etag_; }
  const std::string& last_modified() const { return last_modified_; }
  const std::string& content_type() const { return content_type_; }
  const std::string& retry_after() const { return retry_after_; }
  const std::string& cache_control() const { return cache_control_; }  // repeated ones joined
  const std::string& date() const { return date_; }

 private:
  std::string etag_, last_modified_, content_type_, retry_after_, cache_control_, date_;
};

}  // namespace feedmerge::fetch
