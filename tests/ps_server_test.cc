// `parasol ps server` as a real process on a loopback port, driven over gRPC by a worker.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <numeric>
#include <string>

#include "gtest/gtest.h"
#include "ps/grpc_transport.h"
#include "ps/kv_worker.h"
#include "test_util/parasol_process.h"
#include "test_util/run_parasol.h"

namespace parasol {
namespace {

using Child = ::parasol::testing::ParasolProcess;

TEST(PsServerProcessTest, TwoServerProcessesServeAWorkerAndStopOnSigterm) {
  Child a({"ps", "server", "--listen", "127.0.0.1:0", "--model", "fm", "--k", "3", "--optimizer",
           "sgd", "--lr", "1"});
  Child b({"ps", "server", "--listen", "127.0.0.1:0", "--model", "fm", "--k", "3", "--optimizer",
           "sgd", "--lr", "1"});
  const std::string la = a.ReadLine(), lb = b.ReadLine();
  ASSERT_EQ(la.rfind("listening on ", 0), 0u) << la;
  ASSERT_EQ(lb.rfind("listening on ", 0), 0u) << lb;
  GrpcTransport transport({la.substr(13), lb.substr(13)});
  KvWorker worker(&transport, "weights", 4);

  std::vector<uint64_t> keys(500);
  std::iota(keys.begin(), keys.end(), 1);
  std::vector<float> before;
  ASSERT_TRUE(worker.Wait(worker.Pull(keys, &before)).ok());
  std::vector<float> grads(keys.size() * 4, 0.25f);
  ASSERT_TRUE(worker.Wait(worker.Push(keys, grads)).ok());
  std::vector<float> after;
  ASSERT_TRUE(worker.Wait(worker.Pull(keys, &after)).ok());
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) ASSERT_FLOAT_EQ(after[i], before[i] - 0.25f) << i;

  EXPECT_EQ(a.Stop(SIGTERM), 0);
  EXPECT_EQ(b.Stop(SIGINT), 0);
}

TEST(PsServerProcessTest, BadFlagsAreUsageErrors) {
  Child bad({"ps", "server", "--model", "svm"});
  EXPECT_EQ(bad.ReadLine(), "");
  EXPECT_EQ(bad.Stop(0), 2);
}

}  // namespace
}  // namespace parasol
