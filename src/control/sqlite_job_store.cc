// JobStore on SQLite: table jobs(name PRIMARY KEY, created_at, record JSON). One connection
// guarded by a mutex; WAL journal so readers of the file (sqlite3 CLI) do not block the service.
#include <sqlite3.h>

#include <mutex>

#include "absl/strings/str_cat.h"
#include "control/job_store.h"

namespace parasol::control {
namespace {

class SqliteJobStore : public JobStore {
 public:
  SqliteJobStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  ~SqliteJobStore() override { sqlite3_close(db_); }

  absl::Status Create(const JobRecord& record) override {
    std::lock_guard<std::mutex> lock(mu_);
    Statement s(db_, "INSERT INTO jobs(name, created_at, record) VALUES(?1, ?2, ?3)");
    s.Bind(record, /*with_created=*/true);
    const int rc = s.Step();
    if (rc == SQLITE_CONSTRAINT) {
      return absl::AlreadyExistsError("a job named '" + record.name() + "' exists");
    }
    return rc == SQLITE_DONE ? absl::OkStatus() : Error("insert");
  }

  absl::Status Update(const JobRecord& record) override {
    std::lock_guard<std::mutex> lock(mu_);
    Statement s(db_, "UPDATE jobs SET record = ?3 WHERE name = ?1");
    s.Bind(record, /*with_created=*/false);
    if (s.Step() != SQLITE_DONE) return Error("update");
    if (sqlite3_changes(db_) == 0)
      return absl::NotFoundError("no job named '" + record.name() + "'");
    return absl::OkStatus();
  }

  absl::StatusOr<JobRecord> Get(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    Statement s(db_, "SELECT record FROM jobs WHERE name = ?1");
    sqlite3_bind_text(s.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
    const int rc = s.Step();
    if (rc == SQLITE_DONE) return absl::NotFoundError("no job named '" + name + "'");
    if (rc != SQLITE_ROW) return Error("select");
    return JobRecordFromJson(s.Text(0), path_ + ": job " + name);
  }

  absl::StatusOr<std::vector<JobRecord>> List() override {
    std::lock_guard<std::mutex> lock(mu_);
    Statement s(db_, "SELECT name, record FROM jobs ORDER BY created_at, rowid");
    std::vector<JobRecord> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      auto record = JobRecordFromJson(s.Text(1), path_ + ": job " + s.Text(0));
      if (!record.ok()) return record.status();
      out.push_back(*std::move(record));
    }
    if (rc != SQLITE_DONE) return Error("select");
    return out;
  }

  absl::Status Delete(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    Statement s(db_, "DELETE FROM jobs WHERE name = ?1");
    sqlite3_bind_text(s.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
    if (s.Step() != SQLITE_DONE) return Error("delete");
    if (sqlite3_changes(db_) == 0) return absl::NotFoundError("no job named '" + name + "'");
    return absl::OkStatus();
  }

 private:
  // A prepared statement, finalized on scope exit.
  class Statement {
   public:
    Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
    ~Statement() { sqlite3_finalize(stmt_); }
    sqlite3_stmt* get() { return stmt_; }
    void Bind(const JobRecord& record, bool with_created) {
      if (stmt_ == nullptr) return;
      const std::string json = JobRecordToJson(record);
      sqlite3_bind_text(stmt_, 1, record.name().data(), static_cast<int>(record.name().size()),
                        SQLITE_TRANSIENT);
      if (with_created) sqlite3_bind_double(stmt_, 2, record.created_at);
      sqlite3_bind_text(stmt_, 3, json.data(), static_cast<int>(json.size()), SQLITE_TRANSIENT);
    }
    int Step() { return stmt_ == nullptr ? SQLITE_ERROR : sqlite3_step(stmt_); }
    std::string Text(int column) {
      const auto* text = sqlite3_column_text(stmt_, column);
      return text == nullptr ? "" : reinterpret_cast<const char*>(text);
    }

   private:
    sqlite3_stmt* stmt_ = nullptr;
  };

  absl::Status Error(const char* what) {
    return absl::UnavailableError(absl::StrCat(path_, ": ", what, ": ", sqlite3_errmsg(db_)));
  }

  std::mutex mu_;
  sqlite3* db_;
  const std::string path_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<JobStore>> OpenSqliteJobStore(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    const std::string why = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::UnavailableError("cannot open job database " + path + ": " + why);
  }
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  const char* schema =
      "PRAGMA journal_mode=WAL;"
      "PRAGMA synchronous=NORMAL;"
      "CREATE TABLE IF NOT EXISTS jobs("
      "  name TEXT PRIMARY KEY,"
      "  created_at REAL NOT NULL,"
      "  record TEXT NOT NULL);";
  if (sqlite3_exec(db, schema, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string why = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    sqlite3_close(db);
    return absl::UnavailableError("cannot set up job database " + path + ": " + why);
  }
  return std::unique_ptr<JobStore>(new SqliteJobStore(db, path));
}

}  // namespace parasol::control
