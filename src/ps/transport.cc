#include "ps/transport.h"

#include "absl/strings/str_cat.h"

namespace parasol {

ServerTable* InProcessTransport::Find(int server, const std::string& table,
                                      absl::Status* status) const {
  if (server < 0 || server >= num_servers()) {
    *status = absl::InvalidArgumentError(absl::StrCat("no server ", server));
    return nullptr;
  }
  if (tables_[server]->name() != table) {
    *status = absl::NotFoundError(absl::StrCat("server ", server, " has no table '", table, "'"));
    return nullptr;
  }
  return tables_[server];
}

void InProcessTransport::Pull(int server, const std::string& table, std::vector<uint64_t> keys,
                              PullDone done) {
  requests_.fetch_add(1);
  absl::Status status;
  ServerTable* t = Find(server, table, &status);
  if (t == nullptr) return done(status, {});
  std::vector<float> values(keys.size() * t->dim());
  t->Pull(keys, absl::MakeSpan(values));
  done(absl::OkStatus(), values);
}

void InProcessTransport::Push(int server, const std::string& table, std::vector<uint64_t> keys,
                              std::vector<float> grads, Done done) {
  requests_.fetch_add(1);
  absl::Status status;
  ServerTable* t = Find(server, table, &status);
  if (t == nullptr) return done(status);
  done(t->Push(keys, grads));
}

void InProcessTransport::PushPull(int server, const std::string& table, std::vector<uint64_t> keys,
                                  std::vector<float> grads, PullDone done) {
  requests_.fetch_add(1);
  absl::Status status;
  ServerTable* t = Find(server, table, &status);
  if (t == nullptr) return done(status, {});
  if (absl::Status pushed = t->Push(keys, grads); !pushed.ok()) return done(pushed, {});
  std::vector<float> values(keys.size() * t->dim());
  t->Pull(keys, absl::MakeSpan(values));
  done(absl::OkStatus(), values);
}

DenseTable* InProcessTransport::FindDense(int server, const std::string& table,
                                          absl::Status* status) const {
  if (server < 0 || server >= num_servers()) {
    *status = absl::InvalidArgumentError(absl::StrCat("no server ", server));
    return nullptr;
  }
  if (static_cast<size_t>(server) < dense_.size()) {
    for (DenseTable* t : dense_[server]) {
      if (t->name() == table) return t;
    }
  }
  *status =
      absl::NotFoundError(absl::StrCat("server ", server, " has no dense table '", table, "'"));
  return nullptr;
}

void InProcessTransport::DensePull(int server, const std::string& table, uint64_t offset,
                                   uint64_t length, std::vector<float>* values, Done done) {
  requests_.fetch_add(1);
  absl::Status status;
  DenseTable* t = FindDense(server, table, &status);
  if (t == nullptr) return done(status);
  values->resize(length);
  done(t->Pull(offset, absl::MakeSpan(*values)));
}

void InProcessTransport::DensePush(int server, const std::string& table, uint64_t offset,
                                   std::vector<float> grads, Done done) {
  requests_.fetch_add(1);
  absl::Status status;
  DenseTable* t = FindDense(server, table, &status);
  if (t == nullptr) return done(status);
  done(t->Push(offset, grads));
}

}  // namespace parasol
