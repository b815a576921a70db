#include "feedmerge/publish/snapshot.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xxhash.h>
#include <zlib.h>

#include <cerrno>

#include <cstdio>
#include <stdexcept>

#include "feedmerge/normalize/ascii.h"
#include "feedmerge/publish/writers.h"

namespace feedmerge::publish {
namespace {

std::string hex64(std::uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

// Splits a comma-separated header value, calling `each` on every trimmed, non-empty element.
template <class Each>
void for_each_element(std::string_view value, Each&& each) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    const std::string_view element = trim(value.substr(0, comma));
    if (!element.empty()) each(element);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

}  // namespace

MemoryFile MemoryFile::with_bytes(std::string_view bytes) {
  if (bytes.empty()) return {};
  MemoryFile file(::memfd_create("feedmerge-snapshot", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (file.fd_ < 0) return {};
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(file.fd_, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return {};
    written += static_cast<std::size_t>(n);
  }
  // Immutable from now on, like the snapshot that owns it.
  ::fcntl(file.fd_, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
  return file;
}

MemoryFile::~MemoryFile() {
  if (fd_ >= 0) ::close(fd_);
}

MemoryFile& MemoryFile::operator=(MemoryFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

std::string gzip_compress(std::string_view data) {
  z_stream stream{};
  // 15 window bits + 16: a gzip wrapper rather than zlib's.
  if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  std::string out(deflateBound(&stream, static_cast<uLong>(data.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (result != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
  return out;
}

std::shared_ptr<const Snapshot> make_snapshot(std::string body, std::string content_type,
                                              model::Time last_modified) {
  auto snapshot = std::make_shared<Snapshot>();
  const std::string hash = hex64(XXH3_64bits(body.data(), body.size()));
  snapshot->etag = "\"" + hash + "\"";
  snapshot->gzip_etag = "\"" + hash + "-gz\"";
  std::string compressed = gzip_compress(body);
  // Tiny bodies (a 404 page) grow when compressed: then only the identity form is served.
  if (compressed.size() < body.size()) snapshot->gzip_body = std::move(compressed);
  snapshot->body_file = MemoryFile::with_bytes(body);
  snapshot->gzip_file = MemoryFile::with_bytes(snapshot->gzip_body);
  snapshot->body = std::move(body);
  snapshot->content_type = std::move(content_type);
  snapshot->last_modified = last_modified;
  snapshot->last_modified_http = format_http_date(last_modified);
  return snapshot;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  const auto opaque = [](std::string_view tag) {
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    return tag;
  };
  bool matched = false;
  for_each_element(if_none_match, [&](std::string_view element) {
    if (element == "*" || opaque(element) == opaque(etag)) matched = true;
  });
  return matched;
}

bool accepts_gzip(std::string_view accept_encoding) {
  bool accepted = false;
  for_each_element(accept_encoding, [&](std::string_view element) {
    const std::size_t semicolon = element.find(';');
    const std::string coding = ascii::to_lower(trim(element.substr(0, semicolon)));
    if (coding != "gzip" && coding != "x-gzip" && coding != "*") return;
    bool zero = false;
    if (semicolon != std::string_view::npos) {
      std::string_view parameter = trim(element.substr(semicolon + 1));
      if (parameter.starts_with("q=") || parameter.starts_with("Q=")) {
        parameter.remove_prefix(2);
        zero = !parameter.empty() && parameter.find_first_not_of("0.") == std::string_view::npos;
      }
    }
    if (!zero) accepted = true;
  });
  return accepted;
}

}  // namespace feedmerge::publish
