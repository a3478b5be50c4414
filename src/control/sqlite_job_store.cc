// JobStore on SQLite: table jobs(name PRIMARY KEY, created_at, record JSON) and table
// metrics(job, replica, name, step, time, value). One connection
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
    s.BindText(1, name);
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
    Statement metrics(db_, "DELETE FROM metrics WHERE job = ?1");
    metrics.BindText(1, name);
    if (metrics.Step() != SQLITE_DONE) return Error("delete metrics");
    Statement s(db_, "DELETE FROM jobs WHERE name = ?1");
    s.BindText(1, name);
    if (s.Step() != SQLITE_DONE) return Error("delete");
    if (sqlite3_changes(db_) == 0) return absl::NotFoundError("no job named '" + name + "'");
    return absl::OkStatus();
  }

  absl::Status AppendMetrics(const std::string& name,
                             const std::vector<MetricPoint>& points) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (points.empty()) return absl::OkStatus();
    if (sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) return Error("begin");
    {
      Statement s(db_,
                  "INSERT INTO metrics(job, replica, name, step, time, value) "
                  "VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
      for (const auto& p : points) {
        sqlite3_reset(s.get());
        s.BindText(1, name);
        s.BindText(2, p.replica);
        s.BindText(3, p.name);
        sqlite3_bind_int64(s.get(), 4, p.step);
        sqlite3_bind_double(s.get(), 5, p.time);
        sqlite3_bind_double(s.get(), 6, p.value);
        if (s.Step() != SQLITE_DONE) {
          const absl::Status st = Error("insert metrics");
          sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
          return st;
        }
      }
    }
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return Error("commit");
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<MetricPoint>> Metrics(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    Statement s(db_,
                "SELECT replica, name, step, time, value FROM metrics WHERE job = ?1 "
                "ORDER BY replica, name, step, rowid");
    s.BindText(1, name);
    std::vector<MetricPoint> out;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      MetricPoint p;
      p.replica = s.Text(0);
      p.name = s.Text(1);
      p.step = sqlite3_column_int64(s.get(), 2);
      p.time = sqlite3_column_double(s.get(), 3);
      p.value = sqlite3_column_double(s.get(), 4);
      out.push_back(std::move(p));
    }
    if (rc != SQLITE_DONE) return Error("select metrics");
    return out;
  }

 private:
  // A prepared statement, finalized on scope exit.
  class Statement {
   public:
    Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
    ~Statement() { sqlite3_finalize(stmt_); }
    sqlite3_stmt* get() { return stmt_; }
    void BindText(int index, const std::string& text) {
      sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    }
    void Bind(const JobRecord& record, bool with_created) {
      if (stmt_ == nullptr) return;
      BindText(1, record.name());
      if (with_created) sqlite3_bind_double(stmt_, 2, record.created_at);
      BindText(3, JobRecordToJson(record));
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
      "  record TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS metrics("
      "  job TEXT NOT NULL, replica TEXT NOT NULL, name TEXT NOT NULL,"
      "  step INTEGER NOT NULL, time REAL NOT NULL, value REAL NOT NULL);"
      "CREATE INDEX IF NOT EXISTS metrics_by_job ON metrics(job, replica, name, step);";
  if (sqlite3_exec(db, schema, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string why = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    sqlite3_close(db);
    return absl::UnavailableError("cannot set up job database " + path + ": " + why);
  }
  return std::unique_ptr<JobStore>(new SqliteJobStore(db, path));
}

}  // namespace parasol::control
