#include "daemon/logging.h"

#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "feedmerge/normalize/url.h"
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

namespace feedmerge::daemon {

namespace {

thread_local std::string current_feed_url;

spdlog::level::level_enum spdlog_level(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::trace:
      return spdlog::level::trace;
    case config::LogLevel::debug:
      return spdlog::level::debug;
    case config::LogLevel::info:
      return spdlog::level::info;
    case config::LogLevel::warn:
      return spdlog::level::warn;
    case config::LogLevel::error:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

int syslog_priority(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return LOG_DEBUG;
    case spdlog::level::info:
      return LOG_INFO;
    case spdlog::level::warn:
      return LOG_WARNING;
    case spdlog::level::err:
      return LOG_ERR;
    case spdlog::level::critical:
      return LOG_CRIT;
    default:
      return LOG_INFO;
  }
}

void send_to_journal(const std::vector<std::string>& fields) {
  std::vector<iovec> vector;
  vector.reserve(fields.size());
  for (const std::string& field : fields)
    vector.push_back({const_cast<char*>(field.data()), field.size()});
  sd_journal_sendv(vector.data(), static_cast<int>(vector.size()));
}

// spdlog 1.10's systemd_sink sends a fixed set of fields; this one adds FEED_URL, which lets
// `journalctl FEED_URL=https://...` show one feed's history.
class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit JournalSink(JournalSender sender) : sender_(std::move(sender)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    std::vector<std::string> fields;
    fields.reserve(4);
    fields.push_back("MESSAGE=" + std::string(message.payload.data(), message.payload.size()));
    fields.push_back("PRIORITY=" + std::to_string(syslog_priority(message.level)));
    fields.push_back("SYSLOG_IDENTIFIER=feedmerge");
    if (!current_feed_url.empty()) fields.push_back("FEED_URL=" + current_feed_url);
    sender_(fields);
  }
  void flush_() override {}

 private:
  JournalSender sender_;
};

// Whoever logs and whatever they quote (a feed URL, a redirect target inside a curl error),
// the line that leaves the process has its URLs redacted: secrets in feed URLs stay out of the
// journal and of terminals.
class RedactingSink final : public spdlog::sinks::sink {
 public:
  explicit RedactingSink(std::shared_ptr<spdlog::sinks::sink> inner) : inner_(std::move(inner)) {
    inner_->set_level(spdlog::level::trace);  // the level is this sink's to check
  }

  void log(const spdlog::details::log_msg& message) override {
    const std::string_view payload(message.payload.data(), message.payload.size());
    if (payload.find("://") == std::string_view::npos) {
      inner_->log(message);
      return;
    }
    const std::string redacted = normalize::redact_urls_in(payload);
    spdlog::details::log_msg copy = message;
    copy.payload = spdlog::string_view_t(redacted.data(), redacted.size());
    inner_->log(copy);
  }
  void flush() override { inner_->flush(); }
  void set_pattern(const std::string& pattern) override { inner_->set_pattern(pattern); }
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
    inner_->set_formatter(std::move(formatter));
  }

 private:
  std::shared_ptr<spdlog::sinks::sink> inner_;
};

}  // namespace

std::shared_ptr<spdlog::sinks::sink> make_redacting_sink(
    std::shared_ptr<spdlog::sinks::sink> inner) {
  return std::make_shared<RedactingSink>(std::move(inner));
}

bool started_by_systemd() {
  if (const char* stream = std::getenv("JOURNAL_STREAM"); stream && *stream) {
    struct stat error_output {};
    unsigned long long device = 0, inode = 0;
    if (fstat(STDERR_FILENO, &error_output) == 0 &&
        std::sscanf(stream, "%llu:%llu", &device, &inode) == 2 &&
        device == static_cast<unsigned long long>(error_output.st_dev) &&
        inode == static_cast<unsigned long long>(error_output.st_ino))
      return true;
  }
  const char* invocation = std::getenv("INVOCATION_ID");
  return invocation != nullptr && *invocation != '\0';
}

std::shared_ptr<spdlog::sinks::sink> make_journal_sink(JournalSender sender) {
  return std::make_shared<JournalSink>(sender ? std::move(sender) : JournalSender(send_to_journal));
}

void setup_logging(config::LogLevel level) {
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (started_by_systemd()) {
    sink = make_journal_sink();
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  }
  auto logger = std::make_shared<spdlog::logger>("feedmerge", make_redacting_sink(std::move(sink)));
  spdlog::set_default_logger(std::move(logger));
  set_log_level(level);
}

void set_log_level(config::LogLevel level) {
  spdlog::set_level(spdlog_level(level));
}

FeedLogScope::FeedLogScope(std::string_view url) : previous_(std::move(current_feed_url)) {
  current_feed_url = normalize::redact_url(url);
}

FeedLogScope::~FeedLogScope() {
  current_feed_url = std::move(previous_);
}

}  // namespace feedmerge::daemon
