// Owning wrappers for libcurl's C handles, so every exit path frees them. Internal to the
// fetch stage. Thread-compatible: a handle belongs to whoever holds the pointer.
#pragma once

#include <memory>

#include <curl/curl.h>

namespace feedmerge::fetch {

struct CurlEasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
// Remove it from its multi handle before it is destroyed (curl requires that order).
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;

struct CurlMultiDeleter {
  void operator()(CURLM* handle) const { curl_multi_cleanup(handle); }
};
using CurlMulti = std::unique_ptr<CURLM, CurlMultiDeleter>;

struct CurlSlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistDeleter>;

struct CurlUrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
using CurlUrl = std::unique_ptr<CURLU, CurlUrlDeleter>;

// Strings that libcurl allocates for the caller (curl_url_get and friends).
struct CurlFreeDeleter {
  void operator()(char* text) const { curl_free(text); }
};
using CurlString = std::unique_ptr<char, CurlFreeDeleter>;

// Appends `line` (copied by curl) to `list`; on allocation failure the list is left as it was
// and false comes back.
inline bool append(CurlSlist& list, const char* line) {
  curl_slist* grown = curl_slist_append(list.get(), line);
  if (grown == nullptr) return false;
  list.release();  // `grown` is the same list, longer; keep a single owner
  list.reset(grown);
  return true;
}

}  // namespace feedmerge::fetch
