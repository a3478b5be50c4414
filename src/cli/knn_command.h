// `parasol knn`: k-nearest-neighbour classification or regression of a test file against a
// training file (src/knn). Registered by commands.cc; runs on the caller's thread plus
// --threads search threads.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace parasol {

struct KnnFlags {
  std::string train, test, metric = "l2", index = "auto", task = "classify", weights = "uniform",
                           format = "libsvm", schema, out;
  size_t k = 0;
  int threads = 0;  // 0: all cores
  bool json = false;
};

// Adds the `knn` sub-command, whose flags land in *flags (which must outlive parsing).
CLI::App* AddKnnCommand(CLI::App& app, KnnFlags& flags);
// Runs it. Returns the exit code: 0 ok, 1 runtime error (data, I/O), 2 usage error.
int RunKnn(const KnnFlags& flags);

}  // namespace parasol
