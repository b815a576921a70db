// Several `feedmerge run` processes on one PostgreSQL database: leases on feeds, claimed a host
// at a time, and the lock that makes one process at a time the story assigner. A Cluster is one
// connection of its own (the assigner's lock lives as long as that session), owned by the
// daemon's lease keeper thread (src/daemon/lease_keeper.h); not thread-safe. SQLite has no
// Cluster: one process per file holds every feed.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "feedmerge/error.h"
#include "feedmerge/store/store.h"

namespace feedmerge::store {

// What one round of Cluster::hold found.
struct LeaseRound {
  std::vector<std::string> held;  // the units this process holds until the lease runs out
  int pollers = 0;                // live processes, this one included
  int units = 0;                  // units known to the database
};

class Cluster {
 public:
  virtual ~Cluster() = default;

  // One round, in one transaction, at least every third of the lease: registers `units` (the
  // lease units of this process's feeds: their host, or a file:// URL) and this process,
  // renews the units it holds, frees those beyond its fair share (every unit divided by the
  // live processes, rounded up) or no longer in `units`, and claims free or expired ones up to
  // that share (FOR UPDATE SKIP LOCKED: two claimers never wait for each other). A unit is
  // held for `lease` from the round, by the server's clock.
  virtual Result<LeaseRound> hold(const std::vector<std::string>& units) = 0;
  // The story assigner's term while this connection holds the assigner lock (a session-level
  // advisory lock: the server releases it when the process or its connection dies), else
  // nullopt. Tries to take the lock when not held; on taking it, records a new term.
  virtual Result<std::optional<std::int64_t>> assigner_term() = 0;
  // Waits up to `timeout` for a change of stories by any process (each story batch, merge or
  // split NOTIFYs feedmerge_stories as it commits); true when one came. The first call starts
  // listening.
  virtual Result<bool> await_story_change(std::chrono::milliseconds timeout) = 0;
  // The stored state of the feeds configured under `urls` (missing ones are left out).
  virtual Result<std::vector<FeedState>> feeds(const std::vector<std::string>& urls) = 0;
  // At a clean stop: frees this process's units and forgets it, so that the others claim its
  // feeds at their next round instead of after the lease. Closing the connection releases
  // the assigner lock.
  virtual void leave() = 0;

  // "hostname:pid:random": how the tables, the logs and `feeds` name a process.
  virtual const std::string& owner() const = 0;

 protected:
  Cluster() = default;
};

// Connects to the PostgreSQL database at `url` (whose schema a read_write open_postgresql has
// brought up to date) as `owner`, with leases of `lease`.
Result<std::unique_ptr<Cluster>> open_cluster(const std::string& url, std::string owner,
                                              std::chrono::seconds lease);

// A fresh owner name for this process: "hostname:pid:random".
std::string make_owner_name();

// Who holds what, for `feeds` and /metrics: every unit's holder while its lease runs, and the
// assigner's current term.
struct LeaseHolder {
  std::string unit;
  std::string owner;  // "" when nobody holds it now
};
struct ClusterView {
  std::vector<LeaseHolder> leases;
  std::string assigner;  // the owner of the term whose session holds the lock; "" = none
};
Result<ClusterView> read_cluster(const std::string& url);

}  // namespace feedmerge::store
