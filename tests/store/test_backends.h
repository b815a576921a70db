// The store's backends for tests that run on both (TEST_CASE_TEMPLATE over SqliteBackend and
// PgBackend): each object is one fresh, empty database, removed with it; location() is what
// store::open_store takes.
//
// PostgreSQL: the server at $FEEDMERGE_TEST_PG_URL (CTest's pg_server fixture starts one with
// scripts/pg-test-server.sh and sets it); unset, the first PgBackend starts a private server
// with that script and stops it when the process ends. Each PgBackend creates its own
// database on that server. A server that cannot be reached or started fails the test.
#pragma once

#include <unistd.h>

#include <doctest/doctest.h>

#include <pqxx/pqxx>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#include "feedmerge/store/store.h"
#include "store/temp_folder.h"

namespace feedmerge::test {

struct SqliteBackend {
  static constexpr bool kReusesItemIds = true;     // SQLite gives a removed highest rowid again
  static constexpr bool kStoryIdsRollBack = true;  // sqlite_sequence is transactional
  TempFolder folder;
  std::string location() const { return folder.file("feedmerge.db"); }
};

// `url` with its database name replaced ("postgresql://u@/postgres?host=/d" -> ".../NAME?...").
inline std::string with_database(const std::string& url, const std::string& name) {
  const std::size_t authority = url.find("://");
  if (authority == std::string::npos) throw std::invalid_argument("not a URL: " + url);
  const std::size_t slash = url.find('/', authority + 3);
  const std::size_t query = url.find('?', authority + 3);
  if (slash == std::string::npos || (query != std::string::npos && slash > query)) {
    return url.substr(0, query) + "/" + name +
           (query == std::string::npos ? "" : url.substr(query));
  }
  const std::size_t end = query == std::string::npos ? url.size() : query;
  return url.substr(0, slash + 1) + name + url.substr(end);
}

// The test server's URL (its maintenance database), started on first use when the
// environment names none.
class PgTestServer {
 public:
  static const std::string& url() {
    static PgTestServer server;
    return server.url_;
  }

 private:
  PgTestServer() {
    if (const char* given = std::getenv("FEEDMERGE_TEST_PG_URL"); given && *given) {
      url_ = given;
      return;
    }
    dir_ = "/tmp/feedmerge-pg-test-" + std::to_string(::getpid());
    script_ = std::string(FEEDMERGE_TEST_DATA) + "/../../scripts/pg-test-server.sh";
    const std::string command = script_ + " start " + dir_ + " 2>&1";
    std::unique_ptr<FILE, int (*)(FILE*)> out(::popen(command.c_str(), "r"), ::pclose);
    std::string text;
    char buffer[512];
    while (out && std::fgets(buffer, sizeof buffer, out.get()) != nullptr)
      text += buffer;
    const int status = out ? ::pclose(out.release()) : -1;
    while (!text.empty() && text.back() == '\n')
      text.pop_back();
    if (status != 0 || !text.starts_with("postgresql://")) {
      throw std::runtime_error("cannot start the test PostgreSQL server (" + command +
                               "): " + text);
    }
    url_ = text;
  }
  ~PgTestServer() {
    if (!dir_.empty()) {
      const std::string command = script_ + " stop " + dir_ + " >/dev/null 2>&1";
      [[maybe_unused]] const int ignored = std::system(command.c_str());
    }
  }

  std::string url_;
  std::string dir_;  // set when this process started the server
  std::string script_;
};

class PgBackend {
 public:
  static constexpr bool kReusesItemIds = false;     // identity columns never go back
  static constexpr bool kStoryIdsRollBack = false;  // a sequence never goes back

  PgBackend() {
    static std::atomic<int> counter{0};
    name_ = "feedmerge_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    try {
      admin("DROP DATABASE IF EXISTS " + name_);
      admin("CREATE DATABASE " + name_);
    } catch (const std::exception& e) {
      const std::string message = std::string("test PostgreSQL server: ") + e.what();
      FAIL(message);
    }
    location_ = with_database(PgTestServer::url(), name_);
  }
  ~PgBackend() {
    try {
      admin("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (const std::exception&) {  // the server's own cleanup removes it at the latest
    }
  }
  PgBackend(const PgBackend&) = delete;
  PgBackend& operator=(const PgBackend&) = delete;

  const std::string& location() const { return location_; }

  // Runs `sql` in this backend's database (for tests that look underneath the store).
  void exec(const std::string& sql) const {
    pqxx::connection connection(location_);
    pqxx::nontransaction work(connection);
    work.exec(sql);
  }

 private:
  static void admin(const std::string& sql) {
    pqxx::connection connection(PgTestServer::url());
    pqxx::nontransaction work(connection);  // CREATE DATABASE refuses a transaction
    work.exec(sql);
  }

  std::string name_;
  std::string location_;
};

// Opens `location` (read_write: creating it), failing the test with the store's message.
inline std::unique_ptr<store::Store> open_test_store(
    const std::string& location, store::OpenMode mode = store::OpenMode::read_write) {
  auto opened = store::open_store(location, mode);
  REQUIRE_MESSAGE(opened.has_value(), (opened ? "" : opened.error().message));
  return std::move(*opened);
}

}  // namespace feedmerge::test
