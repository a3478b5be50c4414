// The loader seam of the model server (TF Serving's Loader): turns one aspired version into a
// servable, and the small thread pool the manager runs loads (and in-place delta applies) on, so
// one large model loading never stalls the others. DiskServableLoader is the real loader
// (Servable::Load: read, check, warm up); tests plug in their own to control timing.
// Thread-safety: a ServableLoader is called from several pool threads at once and must be
// thread-safe; LoadPool is thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "serve/servable.h"
#include "serve/version_source.h"

namespace parasol {

class ServableLoader {
 public:
  virtual ~ServableLoader() = default;
  // Loads `version` of model `model` (version.path is not empty) and makes it ready to take
  // traffic. An error names what is wrong and where; the version is then not served.
  virtual absl::StatusOr<std::shared_ptr<Servable>> Load(const std::string& model,
                                                         const AspiredVersion& version) = 0;
};

// Servable::Load: the model directory at version.path, in options' precision, warmed up.
class DiskServableLoader : public ServableLoader {
 public:
  explicit DiskServableLoader(ServableOptions options = {}) : options_(options) {}
  absl::StatusOr<std::shared_ptr<Servable>> Load(const std::string& model,
                                                 const AspiredVersion& version) override;

 private:
  const ServableOptions options_;
};

// A fixed set of threads running tasks in the order they were scheduled. The destructor runs
// the tasks already scheduled, then joins.
class LoadPool {
 public:
  explicit LoadPool(int threads);
  ~LoadPool();
  LoadPool(const LoadPool&) = delete;
  LoadPool& operator=(const LoadPool&) = delete;

  void Schedule(std::function<void()> task);

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace parasol
