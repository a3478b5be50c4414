#include "control/job_spec.h"

#include <fstream>
#include <map>
#include <sstream>

#include "common/files.h"
#include "gtest/gtest.h"

namespace parasol::control {
namespace {

// The minimal spec of issue 5, exactly as written there.
std::string HelloSpec() {
  return ReadFileToString(std::string(PARASOL_SOURCE_DIR) + "/src/control/examples/hello.yaml")
      .value_or("");
}

TEST(JobSpecTest, ParsesTheMinimalSpecOfTheIssue) {
  const std::string hello = HelloSpec();
  ASSERT_NE(hello.find("exec sleep 600"), std::string::npos);
  auto spec = ParseJobSpec(hello, "hello.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->name, "hello");
  EXPECT_EQ(spec->kind, JobKind::kCustom);
  ASSERT_EQ(spec->replicas.size(), 2u);
  EXPECT_EQ(spec->replicas[0].role, "ps");
  EXPECT_EQ(spec->replicas[0].count, 1);
  EXPECT_EQ(spec->replicas[0].command,
            (std::vector<std::string>{"sh", "-c", "echo \"$TF_CONFIG\"; exec sleep 600"}));
  EXPECT_EQ(spec->replicas[1].role, "worker");
  EXPECT_EQ(spec->replicas[1].count, 2);
  EXPECT_EQ(spec->restart_policy, RestartPolicy::kNever);
  EXPECT_TRUE(IsDistributed(*spec));
}

TEST(JobSpecTest, FullSpecRoundTripsThroughCanonicalJson) {
  const char* full = R"(
name: ctr-2
kind: custom
env: {A: "1"}
workingDir: /tmp
resources: {cpu: 500m, memory: 1Gi}
replicas:
  worker:
    count: 3
    command: [python3, train.py]
    env: {B: two}
    workingDir: sub
    resources: {cpu: 2, gpu: 1, memory: 512Mi}
    image: python:3.11
image: busybox:1.36
nodeSelector: {disktype: ssd}
restartPolicy: ExitCode
backoffLimit: 5
activeDeadlineSeconds: 3600
)";
  auto spec = ParseJobSpec(full, "full.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_DOUBLE_EQ(spec->resources.cpu, 0.5);
  EXPECT_EQ(spec->resources.memory_bytes, int64_t{1} << 30);
  EXPECT_EQ(spec->replicas[0].resources.memory_bytes, int64_t{512} << 20);
  EXPECT_EQ(spec->restart_policy, RestartPolicy::kExitCode);
  EXPECT_EQ(spec->backoff_limit, 5);
  EXPECT_EQ(spec->active_deadline_seconds, 3600);
  const Resources eff = EffectiveResources(*spec, spec->replicas[0]);
  EXPECT_EQ(eff.cpu, 2);
  EXPECT_EQ(eff.gpu, 1);
  auto again = ParseJobSpec(JobSpecToJson(*spec), "json");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << JobSpecToJson(*spec);
  EXPECT_EQ(*again, *spec);
}

TEST(JobSpecTest, TrainKindExpandsToTheBuiltInTrainer) {
  auto spec = ParseJobSpec(R"({"name": "t", "kind": "train",
      "train": {"servers": 2, "workers": 3, "args": {"train": "a.svm", "out": "m", "epochs": 2}}})",
                           "t.json");
  ASSERT_TRUE(spec.ok()) << spec.status();
  const JobSpec expanded = ExpandJob(*spec, "/bin/parasol");
  ASSERT_EQ(expanded.replicas.size(), 2u);
  EXPECT_EQ(expanded.replicas[0].role, "ps");
  EXPECT_EQ(expanded.replicas[0].count, 2);
  EXPECT_EQ(expanded.replicas[0].command,
            (std::vector<std::string>{"/bin/parasol", "ps", "server", "--", "--train", "a.svm",
                                      "--out", "m", "--epochs", "2"}));
  EXPECT_EQ(expanded.replicas[1].role, "worker");
  EXPECT_EQ(expanded.replicas[1].count, 3);
  EXPECT_EQ(expanded.replicas[1].command,
            (std::vector<std::string>{"/bin/parasol", "ps", "worker", "--resume", "--train",
                                      "a.svm", "--out", "m", "--epochs", "2"}));
  EXPECT_TRUE(IsDistributed(expanded));
  auto again = ParseJobSpec(JobSpecToJson(*spec), "json");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *spec);
  auto single = ParseJobSpec("name: s\nkind: train\ntrain: {args: {train: a.svm, out: m}}\n", "s");
  ASSERT_TRUE(single.ok()) << single.status();
  const JobSpec one = ExpandJob(*single, "p");
  ASSERT_EQ(one.replicas.size(), 1u);
  EXPECT_EQ(one.replicas[0].role, "trainer");
  EXPECT_EQ(one.replicas[0].command[1], "train");
  EXPECT_FALSE(IsDistributed(one));
}

TEST(JobSpecTest, TrainCheckpointsExpandToWorkerZerosScheduleAndRestoringServers) {
  auto spec = ParseJobSpec(
      "name: t\nkind: train\ntrain: {servers: 2, workers: 2, checkpointEvery: 30s,\n"
      "  keepCheckpoints: 2, args: {train: a.svm, out: m}}\n",
      "t.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->train.checkpoint_dir, "m/checkpoints");  // under args.out unless given
  const JobSpec expanded = ExpandJob(*spec, "/bin/parasol");
  ASSERT_EQ(expanded.replicas.size(), 2u);
  EXPECT_EQ(
      expanded.replicas[0].command,
      (std::vector<std::string>{"/bin/parasol", "ps", "server", "--checkpoint-dir", "m/checkpoints",
                                "--restore-latest", "--", "--train", "a.svm", "--out", "m"}));
  EXPECT_EQ(
      expanded.replicas[1].command,
      (std::vector<std::string>{"/bin/parasol", "ps", "worker", "--resume", "--checkpoint-every",
                                "30s", "--checkpoint-dir", "m/checkpoints", "--keep-checkpoints",
                                "2", "--train", "a.svm", "--out", "m"}));
  auto again = ParseJobSpec(JobSpecToJson(*spec), "json");
  ASSERT_TRUE(again.ok()) << again.status() << JobSpecToJson(*spec);
  EXPECT_EQ(*again, *spec);

  // A directory without a schedule: the checkpoint at the end only; `restore` seeds the servers
  // while the directory has no checkpoint.
  auto end_only = ParseJobSpec(
      "name: t\nkind: train\ntrain: {servers: 1, checkpointDir: c, restore: old/ckpt-000002,\n"
      "  args: {train: a.svm, out: m}}\n",
      "t.yaml");
  ASSERT_TRUE(end_only.ok()) << end_only.status();
  const JobSpec end_expanded = ExpandJob(*end_only, "/bin/parasol");
  EXPECT_EQ(end_expanded.replicas[0].command,
            (std::vector<std::string>{"/bin/parasol", "ps", "server", "--checkpoint-dir", "c",
                                      "--restore-latest", "--restore", "old/ckpt-000002", "--",
                                      "--train", "a.svm", "--out", "m"}));
  EXPECT_EQ(
      end_expanded.replicas[1].command,
      (std::vector<std::string>{"/bin/parasol", "ps", "worker", "--resume", "--checkpoint-dir", "c",
                                "--keep-checkpoints", "5", "--train", "a.svm", "--out", "m"}));
  auto end_again = ParseJobSpec(JobSpecToJson(*end_only), "json");
  ASSERT_TRUE(end_again.ok()) << end_again.status() << JobSpecToJson(*end_only);
  EXPECT_EQ(*end_again, *end_only);
  for (const char* bad : {"restore: x", "checkpointDir: c"}) {
    auto trainer = ParseJobSpec(
        std::string("name: t\nkind: train\ntrain: {") + bad + ", args: {train: a.svm, out: m}}\n",
        "t.yaml");
    ASSERT_FALSE(trainer.ok()) << bad;
    EXPECT_NE(trainer.status().message().find("needs train.servers >= 1"), std::string::npos)
        << trainer.status();
  }

  auto dir = ParseJobSpec(
      "name: t\nkind: train\ntrain: {servers: 1, checkpointEvery: \"500\", checkpointDir: /c,\n"
      "  args: {train: a.svm}}\n",
      "t.yaml");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(dir->train.checkpoint_dir, "/c");
  for (const char* bad : {"0", "30m", "s", "1.5", "-3", "2..5s"}) {
    auto rejected =
        ParseJobSpec(std::string("name: t\nkind: train\ntrain: {servers: 1, checkpointEvery: \"") +
                         bad + "\", args: {train: a.svm, out: m}}\n",
                     "t.yaml");
    ASSERT_FALSE(rejected.ok()) << bad;
    EXPECT_NE(rejected.status().message().find("train.checkpointEvery"), std::string::npos)
        << rejected.status();
  }
  auto no_out = ParseJobSpec(
      "name: t\nkind: train\ntrain: {servers: 1, checkpointEvery: 10s, args: {train: a.svm}}\n",
      "t.yaml");
  ASSERT_FALSE(no_out.ok());
  EXPECT_NE(no_out.status().message().find("train.checkpointDir"), std::string::npos)
      << no_out.status();
  auto local = ParseJobSpec(
      "name: t\nkind: train\ntrain: {checkpointEvery: 10s, args: {train: a.svm, out: m}}\n",
      "t.yaml");
  ASSERT_FALSE(local.ok());
  EXPECT_NE(local.status().message().find("train.servers >= 1"), std::string::npos)
      << local.status();
}

TEST(JobSpecTest, ServeKindExpandsToModelServersOnTheirOwnPorts) {
  auto spec = ParseJobSpec(
      "name: s\nkind: serve\nserve: {replicas: 2, args: {model-base: models/churn}}\n", "s");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->restart_policy, RestartPolicy::kOnFailure);  // unless the spec says otherwise
  const JobSpec expanded = ExpandJob(*spec, "/bin/parasol");
  ASSERT_EQ(expanded.replicas.size(), 1u);
  EXPECT_EQ(expanded.replicas[0].role, "server");
  EXPECT_EQ(expanded.replicas[0].count, 2);
  EXPECT_EQ(expanded.replicas[0].command,
            (std::vector<std::string>{"/bin/parasol", "serve", "--rest-port", "$(PARASOL_PORT)",
                                      "--port", "0", "--model-base", "models/churn"}));
  auto again = ParseJobSpec(JobSpecToJson(*spec), "json");
  ASSERT_TRUE(again.ok()) << again.status() << JobSpecToJson(*spec);
  EXPECT_EQ(*again, *spec);
  auto never = ParseJobSpec(
      "name: s\nkind: serve\nrestartPolicy: Never\nserve: {args: {model-config: m.yaml}}\n", "s");
  ASSERT_TRUE(never.ok()) << never.status();
  EXPECT_EQ(never->restart_policy, RestartPolicy::kNever);
}

TEST(JobSpecTest, BundledExamplesParse) {
  for (const char* name : {"hello", "churn", "serve"}) {
    const std::string file =
        std::string(PARASOL_SOURCE_DIR) + "/src/control/examples/" + name + ".yaml";
    auto spec = ParseJobSpec(ReadFileToString(file).value_or(""), file);
    EXPECT_TRUE(spec.ok()) << spec.status();
  }
}

TEST(JobSpecTest, EnvReferencesExpandLikeKubernetes) {
  const std::map<std::string, std::string> env = {{"PARASOL_PORT", "8123"}, {"A", ""}};
  EXPECT_EQ(ExpandEnvReferences("$(PARASOL_PORT)", env), "8123");
  EXPECT_EQ(ExpandEnvReferences("127.0.0.1:$(PARASOL_PORT)/x$(A)y", env), "127.0.0.1:8123/xy");
  EXPECT_EQ(ExpandEnvReferences("$(NOPE) $$(PARASOL_PORT)", env), "$(NOPE) $(PARASOL_PORT)");
  // Shell text passes through.
  EXPECT_EQ(ExpandEnvReferences("echo $$ $((9 - 1)) $HOME $(date) $", env),
            "echo $$ $((9 - 1)) $HOME $(date) $");
}

struct BadSpec {
  const char* yaml;
  const char* message;  // must appear in the error
};

TEST(JobSpecTest, BadSpecsAreRejectedNamingTheFieldAndLine) {
  const BadSpec cases[] = {
      {"name: a\nkind: custom\nreplicas:\n  worker: {count: 0, command: [x]}\n",
       "bad.yaml:4:19: replicas.worker.count: expected a positive integer"},
      {"name: a\nkind: custom\nreplicas:\n  worker: {count: two, command: [x]}\n",
       "replicas.worker.count: expected a positive integer"},
      {"name: a\nkind: custom\nreplicas:\n  worker: {count: 1}\n",
       "replicas.worker.command: required"},
      {"name: a\nkind: custom\nreplicas:\n  worker: {command: []}\n",
       "replicas.worker.command: expected a non-empty list"},
      {"name: Bad_Name\nkind: custom\nreplicas: {w: {command: [x]}}\n", "bad.yaml:1:7: name:"},
      {"kind: custom\nreplicas: {w: {command: [x]}}\n", "name: required"},
      {"name: a\nkind: batch\nreplicas: {w: {command: [x]}}\n",
       "kind: expected train, serve or custom"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x]}}\nrestartPolicy: Always\n",
       "restartPolicy: expected Never, OnFailure or ExitCode"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x]}}\nbackoffLimit: -1\n",
       "backoffLimit: expected a whole number >= 0"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x]}}\nactiveDeadlineSeconds: 0\n",
       "activeDeadlineSeconds: expected a positive integer"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x], resources: {memory: lots}}}\n",
       "replicas.w.resources.memory: expected bytes or a quantity"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x], resources: {cpu: -1}}}\n",
       "replicas.w.resources.cpu: expected a number of cores"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x], env: {1X: y}}}\n",
       "replicas.w.env.1X: not a valid environment variable name"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x]}}\nrestartpolicy: Never\n",
       "bad.yaml:4:1: restartpolicy: unknown field"},
      {"name: a\nkind: custom\nreplicas: {Worker: {command: [x]}}\n",
       "replicas.Worker: role names"},
      {"name: a\nkind: custom\n", "replicas: required"},
      {"name: a\nkind: serve\n", "serve: required for kind serve"},
      {"name: a\nkind: serve\nserve: {args: {model-name: m}}\n",
       "serve.args: needs model-base or model-config"},
      {"name: a\nkind: serve\nserve: {args: {model-base: m, rest-port: 8501}}\n",
       "serve.args.rest-port: set by the control plane"},
      {"name: a\nkind: serve\nserve: {replicas: 0, args: {model-base: m}}\n",
       "serve.replicas: expected a positive integer"},
      {"name: a\nkind: serve\nserve: {args: {model-base: m}}\nreplicas: {w: {command: [x]}}\n",
       "replicas: not used by kind serve"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x]}}\nserve: {args: {}}\n",
       "serve: only used by kind serve"},
      {"name: a\nkind: train\ntrain: {servers: 0, workers: 2, args: {train: x}}\n",
       "train.workers: more than one worker needs train.servers >= 1"},
      {"name: a\nkind: train\nreplicas: {w: {command: [x]}}\n", "replicas: not used by kind train"},
      {"name: a\nkind: train\ntrain: {servers: 1, args: {train: x, checkpoint-every: 30s}}\n",
       "train.args.checkpoint-every: not a training flag"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x]\n",
       "bad.yaml:4:1: not valid YAML or JSON"},
      {"[1, 2]", "spec: expected a mapping"},
      {"", "spec: expected a mapping"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [\"\xff\"]}}\n",
       "bad.yaml: not UTF-8 text (byte 47 is not valid UTF-8)"},
  };
  for (const auto& c : cases) {
    auto spec = ParseJobSpec(c.yaml, "bad.yaml");
    ASSERT_FALSE(spec.ok()) << c.yaml;
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(spec.status().message().find(c.message), std::string::npos)
        << "spec:\n"
        << c.yaml << "\nerror: " << spec.status().message() << "\nwanted: " << c.message;
  }
}

}  // namespace
}  // namespace parasol::control
