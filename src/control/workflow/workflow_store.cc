#include "control/workflow/workflow_store.h"

#include <sqlite3.h>

#include <mutex>

#include "absl/strings/str_cat.h"

namespace parasol::control {
namespace {

class SqliteWorkflowStore : public WorkflowStore {
 public:
  SqliteWorkflowStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  ~SqliteWorkflowStore() override { sqlite3_close(db_); }

  absl::Status Put(const WorkflowRun& run) override {
    std::lock_guard<std::mutex> lock(mu_);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db_,
                       "INSERT INTO workflow_runs(name, created_at, record) VALUES(?1, ?2, ?3) "
                       "ON CONFLICT(name) DO UPDATE SET record = excluded.record",
                       -1, &s, nullptr);
    const std::string record = WorkflowRunToJson(run).dump();
    sqlite3_bind_text(s, 1, run.name.data(), static_cast<int>(run.name.size()), SQLITE_TRANSIENT);
    sqlite3_bind_double(s, 2, run.created_at);
    sqlite3_bind_text(s, 3, record.data(), static_cast<int>(record.size()), SQLITE_TRANSIENT);
    const int rc = s == nullptr ? SQLITE_ERROR : sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? absl::OkStatus() : Error("save run " + run.name);
  }

  absl::StatusOr<std::vector<WorkflowRun>> List() override {
    std::lock_guard<std::mutex> lock(mu_);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db_, "SELECT name, record FROM workflow_runs ORDER BY created_at, rowid", -1,
                       &s, nullptr);
    std::vector<WorkflowRun> out;
    int rc = SQLITE_ERROR;
    while (s != nullptr && (rc = sqlite3_step(s)) == SQLITE_ROW) {
      const std::string name = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
      const std::string record = reinterpret_cast<const char*>(sqlite3_column_text(s, 1));
      auto run = WorkflowRunFromJson(record, path_ + ": workflow run " + name);
      if (!run.ok()) {
        sqlite3_finalize(s);
        return run.status();
      }
      out.push_back(*std::move(run));
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) return Error("list runs");
    return out;
  }

 private:
  absl::Status Error(const std::string& what) {
    return absl::UnavailableError(absl::StrCat(path_, ": ", what, ": ", sqlite3_errmsg(db_)));
  }

  std::mutex mu_;
  sqlite3* db_;
  const std::string path_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<WorkflowStore>> OpenSqliteWorkflowStore(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    const std::string why = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::UnavailableError("cannot open workflow database " + path + ": " + why);
  }
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  const char* schema =
      "PRAGMA journal_mode=WAL;"
      "CREATE TABLE IF NOT EXISTS workflow_runs("
      "  name TEXT PRIMARY KEY,"
      "  created_at REAL NOT NULL,"
      "  record TEXT NOT NULL);";
  if (sqlite3_exec(db, schema, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string why = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    sqlite3_close(db);
    return absl::UnavailableError("cannot set up workflow database " + path + ": " + why);
  }
  return std::unique_ptr<WorkflowStore>(new SqliteWorkflowStore(db, path));
}

}  // namespace parasol::control
