// Starts `parasol control` (PARASOL_BINARY) for end-to-end tests: on a free loopback port, with
// its state in `state_dir` and any further flags, and reads the address it prints.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/subprocess.h"

namespace parasol::testing {

struct ControlService {
  std::unique_ptr<Subprocess> process;  // dies with the test
  std::string endpoint;                 // "http://127.0.0.1:PORT"
};

inline absl::StatusOr<ControlService> StartControlService(const std::string& state_dir,
                                                          const std::vector<std::string>& flags) {
  SpawnOptions o;
  o.argv = {PARASOL_BINARY, "control", "--listen", "127.0.0.1:0", "--state-dir", state_dir};
  o.argv.insert(o.argv.end(), flags.begin(), flags.end());
  o.capture_stdout = true;
  o.die_with_parent = true;
  auto p = Subprocess::Spawn(o);
  if (!p.ok()) return p.status();
  ControlService s;
  s.process = *std::move(p);
  const std::string line = s.process->ReadLine();
  if (line.rfind("listening on ", 0) != 0) {
    return absl::UnavailableError("parasol control did not start: " + line);
  }
  s.endpoint = "http://" + line.substr(13);
  return s;
}

}  // namespace parasol::testing
