#include "daemon/writer.h"

#include <malloc.h>
#include <time.h>

#include <fstream>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

namespace feedmerge::daemon {

namespace asio = boost::asio;

namespace {

// A batch with this many new items is worth returning freed memory to the system for.
constexpr std::size_t kTrimAfterBatch = 2000;

// The password for HTTP basic auth: the file's first line.
std::string read_password(const std::string& path) {
  if (path.empty()) return {};
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

}  // namespace

Result<std::unique_ptr<Writer>> Writer::open(const config::Config& config,
                                             std::unique_ptr<store::Store> store, Clock& clock,
                                             Options options) {
  // Leased: the assigner, whichever process it is, assigns what is stored (set_assigner).
  auto stories = StoryAssigner::open(config, *store, !options.leased);
  if (!stories) return stories.error();
  return std::unique_ptr<Writer>(
      new Writer(config, std::move(store), std::move(*stories), clock, std::move(options)));
}

Writer::Writer(const config::Config& config, std::unique_ptr<store::Store> store,
               std::unique_ptr<StoryAssigner> stories, Clock& clock, Options options)
    : storage_(config.storage),
      clock_(clock),
      options_(std::move(options)),
      leased_(options_.leased),
      store_(std::move(store)),
      stories_(std::move(stories)) {}

Writer::~Writer() {
  thread_.join();  // the queued work first: a pool's destructor would drop it
}

// Runs `work` on the writer, telling on_busy when it starts and ends (a stuck disk shows as a
// task that does not end).
template <class Work>
void Writer::post(Work work) {
  asio::post(thread_, [this, work = std::move(work)]() mutable {
    if (options_.on_busy) options_.on_busy(true);
    work();
    if (options_.on_busy) options_.on_busy(false);
  });
}

Result<std::vector<Writer::Registered>> Writer::register_now(
    const std::vector<config::FeedConfig>& all) {
  std::vector<std::string> urls;
  for (const config::FeedConfig& feed : all) {
    if (feed.enabled) urls.push_back(feed.url);
  }
  auto states = store_->ensure_feeds(urls);
  if (!states) return states.error();
  std::vector<Registered> feeds;
  auto state = states->begin();
  for (const config::FeedConfig& feed : all) {
    if (feed.enabled)
      feeds.push_back({feed, std::move(*state++), read_password(feed.password_file)});
  }
  return feeds;
}

void Writer::register_feeds(std::vector<config::FeedConfig> feeds,
                            std::function<void(Result<std::vector<Registered>>)> done) {
  // Registering writes, and password files are disk reads: both here.
  post([this, feeds = std::move(feeds), done = std::move(done)] {
    if (!fault_.empty()) {
      done(Error{.kind = ErrorKind::io, .message = "not written: " + fault_});
      return;
    }
    done(register_now(feeds));
  });
}

void Writer::record(std::shared_ptr<PollOutcome> poll, std::function<void(Recorded)> done) {
  post([this, poll = std::move(poll), done = std::move(done)] {
    Recorded recorded;
    if (!fault_.empty()) {
      recorded.error = "not stored: " + fault_;
      done(std::move(recorded));
      return;
    }
    auto stored = store_->record_poll(poll->decision.state, poll->parsed ? &*poll->parsed : nullptr,
                                      clock_.now_seconds());
    wrote(stored ? std::string() : stored.error().message);
    if (!stored) {
      recorded.error = stored.error().message;
      done(std::move(recorded));
      return;
    }
    if (leased_) {
      // The assigner reads them back from the store, whichever process stored them.
      poll->candidates = {};
      recorded.stored = std::move(*stored);
      done(std::move(recorded));
      return;
    }
    // The candidates were built on the parse pool before the write; only what the store
    // assigned (row id, key, stored dates) is added here. Stories themselves come once per
    // batch (assign), in publication order: the order in which feeds happen to answer must not
    // change which stories form. Allocated here, on the writer: once in the index, the memory
    // goes back to the writer's arena, where the index grows next.
    for (const store::NewItem& item : stored->new_items) {
      const model::Item& parsed = poll->parsed->items[item.index];
      const std::optional<dedup::Candidate>& prepared =
          item.index < poll->candidates.size() ? poll->candidates[item.index] : std::nullopt;
      // Rare: an item the last document listed that is new all the same (its write failed).
      dedup::Candidate candidate =
          prepared ? *prepared : prepare_candidate(parsed, poll->feed_id, poll->merge);
      unassigned_.push_back(
          std::make_unique<dedup::Candidate>(attach_stored(std::move(candidate), parsed, item)));
    }
    // The parse pool's copies go now, not when the scheduler is done with the poll: a first
    // poll's candidates would otherwise exist twice at the peak.
    poll->candidates = {};
    if (unassigned_.size() >= options_.max_open_batch) assign_open_batch();
    recorded.stored = std::move(*stored);
    done(std::move(recorded));
  });
}

void Writer::schedule_polls(std::vector<std::pair<std::int64_t, model::Time>> polls) {
  if (polls.empty()) return;
  asio::post(thread_, [this, polls = std::move(polls)] {
    if (auto stored = store_->schedule_polls(polls); !stored)
      spdlog::error("could not store the next polls: {}", stored.error().message);
  });
}

void Writer::assign(std::function<void()> done) {
  post([this, done = std::move(done)] {
    assign_open_batch();
    if (done) done();
  });
}

void Writer::set_assigner(std::optional<std::int64_t> term) {
  post([this, term] {
    if (term == term_) {
      // Still the assigner: what the other pollers stored since the last round.
      if (term_) assign_stored();
      return;
    }
    term_ = term;
    store_->fence_story_writes(term);
    // Another process may have assigned meanwhile: the index starts again from the store (its
    // first batch scores the whole window again, as a settle does).
    stories_->forget();
    unsettled_since_.reset();
    if (!term_) return;
    // What a dead assigner placed and did not settle is settled by this one, once quiet.
    if (auto unsettled = store_->unsettled_from(); !unsettled) {
      spdlog::error("stories: {}", unsettled.error().message);
    } else if (*unsettled) {
      unsettled_since_ = last_new_items_ = clock_.steady_now();
    }
    assign_stored();
  });
}

void Writer::assign_stored() {
  if (!term_ || !fault_.empty()) return;
  auto pending = store_->unassigned_item_ids();
  if (!pending) {
    wrote(pending.error().message);
    spdlog::error("stories: {}", pending.error().message);
    return;
  }
  // Against the index kept since the last batch of this term: a rebuild from the store per
  // batch reads and scores two windows each time (seconds at 100,000 feeds).
  if (!pending->empty() &&
      !place("stored items", [&] { return stories_->assign(*pending, clock_.now_seconds()); }))
    return;
  settle_if_due(clock_.steady_now());
}

template <class Assign>
bool Writer::place(std::string_view what, Assign assign) {
  const auto started = std::chrono::steady_clock::now();
  const double cpu_started = thread_cpu_seconds();
  const Result<int> result = assign();
  wrote(result ? std::string() : result.error().message);
  if (!result) {
    spdlog::error("stories: {}", result.error().message);
    return false;
  }
  stories_created_ += stories_->last_created();
  // CPU time too: the machine may be busy, and waiting for a core is not work.
  spdlog::debug("stories: {} {} assigned in {} ms ({:.0f} ms CPU)", *result, what,
                std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - started)
                    .count(),
                1e3 * (thread_cpu_seconds() - cpu_started));
  if (*result > 0 && options_.on_stories) options_.on_stories();
  // Placed against a kept index, the stories are unsettled from now on.
  const auto now = clock_.steady_now();
  last_new_items_ = now;
  if (stories_->last_settled()) {
    unsettled_since_.reset();
  } else if (!unsettled_since_) {
    unsettled_since_ = now;
  }
  return true;
}

void Writer::settle_if_due(std::chrono::steady_clock::time_point now) {
  // Settled once no item came for a lease (the stories a reader sees stop moving soon after
  // the news does), and at the latest after kSettleLeases leases of steady arrivals; but a
  // settle costs what a rebuild from the store does (seconds at 100,000 feeds, the writer's
  // polls waiting meanwhile), so never more than 1/kSettleShare of the time. With one process
  // (SQLite), `lease` is only this period.
  constexpr int kSettleLeases = 10;
  constexpr int kSettleShare = 20;
  if (!unsettled_since_ || !fault_.empty()) return;
  const std::chrono::steady_clock::duration lease = storage_.lease;
  const bool quiet = now - last_new_items_ >= lease;
  const bool overdue = now - *unsettled_since_ >= kSettleLeases * lease;
  if (!quiet && !overdue) return;
  if (last_settle_ && now - *last_settle_ < kSettleShare * settle_cost_) return;
  const auto started = std::chrono::steady_clock::now();
  const double cpu_started = thread_cpu_seconds();
  const int redone = stories_->settles_redone();
  const Result<int> moved = stories_->settle(clock_.now_seconds());
  settle_cost_ = std::chrono::steady_clock::now() - started;
  last_settle_ = clock_.steady_now();
  wrote(moved ? std::string() : moved.error().message);
  // On failure too: the index was dropped, and the next batch starts from the store, which
  // still says how far back the stories are unsettled (the settle's transaction rolled back).
  unsettled_since_.reset();
  if (!moved) {
    spdlog::error("stories: {}", moved.error().message);
    return;
  }
  stories_created_ += stories_->last_created();
  if (options_.on_settled) options_.on_settled(settle_cost_, *moved);
  spdlog::info("stories: settled, {} members moved, {} stories made, in {} ms ({:.0f} ms CPU){}",
               *moved, stories_->last_created(),
               std::chrono::duration_cast<std::chrono::milliseconds>(settle_cost_).count(),
               1e3 * (thread_cpu_seconds() - cpu_started),
               stories_->settles_redone() != redone
                   ? "; stories changed while it read, so it clustered again inside its write"
                   : "");
  // Even with nothing moved, members' reasons (matched item, P) may have been written again.
  if (options_.on_stories) options_.on_stories();
}

void Writer::assign_open_batch() {
  if (leased_) {
    assign_stored();
    return;
  }
  if (unassigned_.empty() || !fault_.empty()) return;
  StoryAssigner::Batch batch = std::move(unassigned_);
  unassigned_.clear();
  // A large batch (a first poll) follows a burst of bodies and documents the parse threads
  // have freed into their own malloc arenas: give those pages back before the story index
  // grows in the writer's.
  if (batch.size() >= kTrimAfterBatch) malloc_trim(0);
  if (place("items", [&] { return stories_->assign(std::move(batch), clock_.now_seconds()); }))
    settle_if_due(clock_.steady_now());
}

void Writer::prune(std::function<void()> done) {
  post([this, done = std::move(done)] {
    // Leased: the assigner alone, whose index retention resets (tidy).
    if (fault_.empty() && (!leased_ || term_)) {
      // The open batch first: retention must not remove an item between its write and its
      // membership, which would fail the batch's foreign keys for every item in it.
      assign_open_batch();
      auto removed =
          store_->prune(storage_.retention, storage_.max_items_per_feed, clock_.now_seconds());
      wrote(removed ? std::string() : removed.error().message);
      if (!removed) {
        spdlog::error("retention: {}", removed.error().message);
      } else if (*removed > 0) {
        spdlog::info("retention: removed {} items", *removed);
        if (auto tidied = stories_->tidy(); !tidied)
          spdlog::error("stories: {}", tidied.error().message);
      }
    }
    if (done) done();
  });
}

void Writer::check_files() {
  post([this] {
    check_files_now();
    if (!fault_.empty()) return;
    if (auto checkpoint = store_->checkpoint(); !checkpoint) {
      spdlog::error("{}", checkpoint.error().message);
      if (options_.on_write) options_.on_write(checkpoint.error().message);
    }
    // One process: this is the writer's clock tick, so the stories settle once quiet (leased,
    // the lease keeper's rounds tick instead, and only the assigner settles).
    if (!leased_) settle_if_due(clock_.steady_now());
  });
}

void Writer::run(std::function<void()> work) {
  post(std::move(work));
}

void Writer::pass(std::function<void()> done) {
  asio::post(thread_, std::move(done));
}

// After each write (`error` "" when it worked). A write into a file that is no longer the
// database's is lost at exit, however well it went.
void Writer::wrote(const std::string& error) {
  if (options_.on_write) options_.on_write(error);
  check_files_now();
}

void Writer::check_files_now() {
  if (!fault_.empty()) return;
  if (auto files = store_->check_files(); !files) stop_writing(files.error().message);
}

// No write from now on; what the -wal held goes into the database file while the descriptors
// still reach it (the next start then finds everything committed so far).
void Writer::stop_writing(const std::string& reason) {
  fault_ = reason;
  spdlog::error("{}; no more writes to it", reason);
  if (auto saved = store_->checkpoint(true); !saved) {
    spdlog::error("could not move the write-ahead log into the database file: {}",
                  saved.error().message);
  } else {
    spdlog::info("{}: what the write-ahead log held is now in the database file",
                 store_->location());
  }
  if (options_.on_fault) options_.on_fault(reason);
}

}  // namespace feedmerge::daemon
