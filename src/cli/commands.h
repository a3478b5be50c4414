// The `parasol` command line: train, eval, predict, gen, knn, ps, cluster, control and job.
// Exit codes: 0 success, 1 runtime error, 2 usage error; every error message names what was wrong.
#pragma once

namespace parasol {

int RunCli(int argc, char** argv);

}  // namespace parasol
