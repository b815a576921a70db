// The publisher: after a change, renders every output once on its own thread (it reads the
// database through a SiteReader, its own read-only connection, and renders from those values),
// turns each changed document into a new immutable Snapshot, writes outputs atomically to
// [publish] output_dir, and swaps the Site that HTTP sessions read. Rebuild requests that
// arrive while one runs are folded into one more rebuild.
// Threading: request_rebuild() and site() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "feedmerge/config/config.h"
#include "feedmerge/error.h"
#include "feedmerge/publish/metrics.h"
#include "feedmerge/publish/snapshot.h"

namespace feedmerge::publish {

// Writes `bytes` to `path` atomically: a temporary file in the same folder, fsync, rename,
// then fsync of the folder, so a reader (nginx) sees the old file or the new one, never half.
Result<void> write_file_atomically(const std::string& path, std::string_view bytes);

class Publisher {
 public:
  // `database_path`: the SQLite file the daemon writes. `metrics` must outlive the publisher.
  Publisher(const config::Config& config, std::string database_path, Metrics& metrics);
  // Waits for the rebuild in progress.
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Schedules a rebuild; `done` (optional) runs on the publisher's thread once a rebuild that
  // started after this call has finished.
  void request_rebuild(std::function<void()> done = nullptr);
  // A rebuild for a change that can wait a little (a feed's health on the index page): at most
  // one per kRefreshGap, however often it is asked for. Any thread.
  void request_refresh();
  static constexpr std::chrono::seconds kRefreshGap{5};

  // A reloaded config (SIGHUP): later renders use its outputs, [publish] and [server] base_url;
  // renders anew at once. Returns without waiting.
  void reconfigure(const config::Config& config);

  // Renders now, on the caller's thread (before the server starts, and in tests).
  Result<void> rebuild_now();

  // What is served now; never null (empty before the first rebuild). After a failed rebuild a
  // configured output keeps its last snapshot, or maps to null when it never had one (the
  // server answers 503 for it, not 404).
  std::shared_ptr<const Site> site() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace feedmerge::publish
