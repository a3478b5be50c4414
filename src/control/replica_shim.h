// The small parent every local replica runs under (`parasol replica-exec`): it starts the
// replica's command in its own process group, waits for it, and writes the exit code to a file,
// so a restarted control service learns how a replica it did not start ended. Single-threaded.
#pragma once

#include <string>
#include <vector>

namespace parasol::control {

// Runs `command` and returns its exit code (128 + signal when killed). The code is written to
// `exit_file` (atomically, via a temporary file) before returning. SIGTERM, SIGINT and SIGHUP
// sent to the process group stop the command but not the shim, so the code is still recorded.
// A command that cannot be started is reported on stderr and recorded as 127.
int RunReplicaShim(const std::string& exit_file, const std::vector<std::string>& command);

// Reads what RunReplicaShim wrote; -1 when the file is missing or damaged.
int ReadExitFile(const std::string& exit_file);

}  // namespace parasol::control
