#include "control/replica_shim.h"

#include <signal.h>

#include <filesystem>
#include <fstream>

#include "common/log.h"
#include "common/subprocess.h"

namespace parasol::control {

int RunReplicaShim(const std::string& exit_file, const std::vector<std::string>& command) {
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) signal(sig, SIG_IGN);
  SpawnOptions options;
  options.argv = command;
  options.kill_on_destroy = false;
  // The shim is the command's lifeline: killed, it takes the command with it (its exit is then
  // "unknown" anyway, and the backend kills the process group when it sees the shim gone).
  options.die_with_parent = true;
  int code = 127;
  auto child = Subprocess::Spawn(options);
  if (child.ok()) {
    code = (*child)->Wait();
  } else {
    log::Error("parasol: error: {}", std::string(child.status().message()));
  }
  const std::string tmp = exit_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << code << "\n";
  }
  std::error_code ec;
  std::filesystem::rename(tmp, exit_file, ec);
  return code;
}

int ReadExitFile(const std::string& exit_file) {
  std::ifstream in(exit_file);
  int code = -1;
  if (!(in >> code) || code < 0 || code > 255) return -1;
  return code;
}

}  // namespace parasol::control
