#include "publish/publisher.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <future>
#include <random>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "feedmerge/publish/site.h"
#include "feedmerge/store/store.h"

namespace feedmerge::publish {

namespace asio = boost::asio;

namespace {

model::Time now_utc() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

Error io_error(const std::string& path, std::string_view what) {
  return Error{ErrorKind::io, path + ": " + std::string(what) + ": " + std::strerror(errno)};
}

// Closes a file descriptor on every path out.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Result<void> write_file_atomically(const std::string& path, std::string_view bytes) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  std::error_code ec;
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  if (ec) return Error{ErrorKind::io, target.parent_path().string() + ": " + ec.message()};
  std::string temporary =
      path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}());
  {
    Fd file{::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)};
    if (file.fd < 0) return io_error(temporary, "cannot create");
    std::size_t written = 0;
    while (written < bytes.size()) {
      const ssize_t n = ::write(file.fd, bytes.data() + written, bytes.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        Error error = io_error(temporary, "cannot write");
        ::unlink(temporary.c_str());
        return error;
      }
      written += static_cast<std::size_t>(n);
    }
    if (::fsync(file.fd) != 0) {
      Error error = io_error(temporary, "fsync failed");
      ::unlink(temporary.c_str());
      return error;
    }
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    Error error = io_error(path, "cannot rename the temporary file into place");
    ::unlink(temporary.c_str());
    return error;
  }
  // The rename itself is durable only once the folder is synced.
  const std::string folder = target.has_parent_path() ? target.parent_path().string() : ".";
  Fd directory{::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (directory.fd >= 0) ::fsync(directory.fd);
  return {};
}

struct Publisher::Impl {
  Impl(const config::Config& cfg, std::string path, Metrics& m)
      : config(cfg),
        database_path(std::move(path)),
        metrics(m),
        thread(1),
        refresh_timer(std::make_unique<asio::steady_timer>(thread.get_executor())) {}

  config::Config config;  // the publisher thread's; replaced by reconfigure() on that thread
  const std::string database_path;
  Metrics& metrics;
  asio::thread_pool thread;  // the publisher's own thread: rendering never runs in an Asio handler

  mutable std::mutex site_mutex;  // guards `site` only for the pointer swap and copy
  std::shared_ptr<const Site> site = std::make_shared<Site>();

  std::atomic<bool> scheduled{false};
  std::mutex done_mutex;
  std::vector<std::function<void()>> done;

  // The publisher thread's own.
  std::unique_ptr<asio::steady_timer> refresh_timer;
  bool refresh_waiting = false;
  std::chrono::steady_clock::time_point last_rebuild{};
  std::unique_ptr<store::Store> reader;  // read_only: stories, feeds' state, counts

  Result<void> rebuild() {
    if (!reader) {
      auto opened = store::open_sqlite(database_path, store::OpenMode::read_only);
      if (!opened) return opened.error();
      reader = std::move(*opened);
    }
    auto states = reader->list_feeds();
    if (!states) return states.error();
    auto files = render_site(config, *reader, *states);
    if (!files) return files.error();
    auto counts = reader->counts();
    if (!counts) return counts.error();
    metrics.set_store_counts(counts->items, counts->stories);

    const std::shared_ptr<const Site> old = current();
    auto next = std::make_shared<Site>();
    const model::Time now = now_utc();
    for (RenderedFile& file : *files) {
      const auto found = old->find(file.path);
      if (found != old->end() && found->second && found->second->body == file.body) {
        next->emplace(file.path, found->second);  // unchanged: same ETag, same Last-Modified
        continue;
      }
      auto snapshot = make_snapshot(std::move(file.body), file.content_type, now);
      if (file.is_output && !config.publish.output_dir.empty()) write_output(file.path, *snapshot);
      next->emplace(file.path, std::move(snapshot));
    }
    std::lock_guard lock(site_mutex);
    site = std::move(next);
    return {};
  }

  void write_output(const std::string& path, const Snapshot& snapshot) {
    std::string target = config.publish.output_dir;
    if (!target.ends_with('/')) target += '/';
    target += path.starts_with('/') ? path.substr(1) : path;
    // The .gz beside it is for nginx's gzip_static: compressed once here, not per request.
    for (auto [file, bytes] : {std::pair{target, std::string_view(snapshot.body)},
                               std::pair{target + ".gz", std::string_view(snapshot.gzip_body)}}) {
      if (bytes.empty()) continue;
      auto written = write_file_atomically(file, bytes);
      if (!written) spdlog::error("publish: {}", written.error().message);
    }
  }

  std::shared_ptr<const Site> current() const {
    std::lock_guard lock(site_mutex);
    return site;
  }

  // Publisher thread: a rebuild now, or once kRefreshGap has passed since the last one.
  void refresh(const std::shared_ptr<Impl>& self) {
    if (refresh_waiting) return;
    const auto due = last_rebuild + Publisher::kRefreshGap;
    if (std::chrono::steady_clock::now() >= due) {
      if (!scheduled.exchange(true)) run();
      return;
    }
    refresh_waiting = true;
    refresh_timer->expires_at(due);
    refresh_timer->async_wait([self](boost::system::error_code error) {
      self->refresh_waiting = false;
      if (!error && !self->scheduled.exchange(true)) self->run();
    });
  }

  void run() {
    scheduled = false;
    last_rebuild = std::chrono::steady_clock::now();
    std::vector<std::function<void()>> callbacks;
    {
      std::lock_guard lock(done_mutex);
      callbacks.swap(done);
    }
    report(rebuild());
    for (auto& callback : callbacks)
      callback();
  }

  void report(const Result<void>& result) {
    metrics.set_database_ok(result.has_value());
    if (!result) {
      spdlog::error("publish: {}", result.error().message);
      reader.reset();  // reopened at the next rebuild
      keep_outputs();
    }
  }

  // After a failed rebuild: every configured output stays in the site, with its last snapshot
  // or, when it never had one, null (503 rather than 404: readers drop a feed that is gone).
  void keep_outputs() {
    const std::shared_ptr<const Site> old = current();
    bool missing = false;
    for (const config::OutputConfig& output : config.outputs)
      missing = missing || !old->contains(output.path);
    if (!missing) return;
    auto next = std::make_shared<Site>(*old);
    for (const config::OutputConfig& output : config.outputs)
      next->try_emplace(output.path, nullptr);
    std::lock_guard lock(site_mutex);
    site = std::move(next);
  }
};

Publisher::Publisher(const config::Config& config, std::string database_path, Metrics& metrics)
    : impl_(std::make_shared<Impl>(config, std::move(database_path), metrics)) {}

Publisher::~Publisher() {
  // A refresh waiting for its time would hold join() until then.
  asio::post(impl_->thread, [impl = impl_] { impl->refresh_timer->cancel(); });
  impl_->thread.join();
  impl_->refresh_timer.reset();
}

void Publisher::request_refresh() {
  asio::post(impl_->thread, [impl = impl_] { impl->refresh(impl); });
}

void Publisher::request_rebuild(std::function<void()> done) {
  if (done) {
    std::lock_guard lock(impl_->done_mutex);
    impl_->done.push_back(std::move(done));
  }
  if (impl_->scheduled.exchange(true)) return;  // the queued rebuild will see this change too
  asio::post(impl_->thread, [impl = impl_] { impl->run(); });
}

void Publisher::reconfigure(const config::Config& config) {
  // Swapped on the publisher's thread, between two rebuilds, so a render never sees half of it.
  asio::post(impl_->thread, [impl = impl_, next = config]() mutable {
    impl->config = std::move(next);
    impl->report(impl->rebuild());
  });
}

Result<void> Publisher::rebuild_now() {
  // On the publisher's thread, so that its connections keep a single owner.
  std::promise<Result<void>> promise;
  auto future = promise.get_future();
  asio::post(impl_->thread, [impl = impl_, &promise] {
    auto result = impl->rebuild();
    impl->report(result);
    promise.set_value(std::move(result));
  });
  return future.get();
}

std::shared_ptr<const Site> Publisher::site() const {
  return impl_->current();
}

}  // namespace feedmerge::publish
