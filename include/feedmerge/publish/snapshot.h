// Snapshots: one rendered document with everything serving it needs, made once per change
// and never modified afterwards, so that HTTP sessions on any thread share it without locks
// and a request costs no rendering, compression or database work. Plus the small pure rules
// of conditional requests and content coding. Thread-safe (immutable values).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "feedmerge/model/feed.h"

namespace feedmerge::publish {

// A sealed in-memory file (memfd) holding bytes that the server sends with sendfile(2): the
// kernel copies from it straight into the socket, as nginx does for static files. Owns its
// descriptor; move-only. fd() is -1 when the system refused one (the server then writes the
// string instead).
class MemoryFile {
 public:
  MemoryFile() = default;
  static MemoryFile with_bytes(std::string_view bytes);
  ~MemoryFile();
  MemoryFile(MemoryFile&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  MemoryFile& operator=(MemoryFile&& other) noexcept;
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  int fd() const { return fd_; }

 private:
  explicit MemoryFile(int fd) : fd_(fd) {}
  int fd_ = -1;
};

struct Snapshot {
  std::string content_type;  // with its charset
  std::string body;
  std::string gzip_body;  // the body gzip-compressed once; "" when compression does not pay
  std::string etag;       // strong, quoted: "\"<hash of body>\""
  std::string gzip_etag;  // the gzip representation's own strong ETag
  model::Time last_modified{};
  std::string last_modified_http;  // format_http_date(last_modified)
  MemoryFile body_file;            // `body` again, for sendfile
  MemoryFile gzip_file;            // `gzip_body` again
};

// Compresses `body` and derives its ETags. `last_modified` is when the bytes last changed.
std::shared_ptr<const Snapshot> make_snapshot(std::string body, std::string content_type,
                                              model::Time last_modified);

// Everything the server serves, by URL path ("/feed.xml", "/", "/sources.opml").
using Site = std::map<std::string, std::shared_ptr<const Snapshot>, std::less<>>;

// True when an If-None-Match value ("*", or a list of possibly weak entity tags) matches
// `etag` with the weak comparison RFC 9110 13.1.2 prescribes for GET and HEAD.
bool etag_matches(std::string_view if_none_match, std::string_view etag);

// True when an Accept-Encoding value accepts gzip (or "*") with a q-value above zero.
bool accepts_gzip(std::string_view accept_encoding);

// gzip (RFC 1952) of `data` at the best compression: for snapshots, compressed once.
std::string gzip_compress(std::string_view data);

}  // namespace feedmerge::publish
