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
  const char* message;  // the whole error
};

// Each spec, read as "bad.yaml", is InvalidArgument with exactly its message.
template <size_t N>
void ExpectRejected(const BadSpec (&cases)[N]) {
  for (const BadSpec& c : cases) {
    auto spec = ParseJobSpec(c.yaml, "bad.yaml");
    ASSERT_FALSE(spec.ok()) << c.yaml;
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(spec.status().message(), c.message) << "spec:\n" << c.yaml;
  }
}

TEST(JobSpecTest, BadSpecsAreRejectedNamingTheFieldAndLine) {
  const BadSpec cases[] = {
      {"name: a\nkind: custom\nreplicas:\n  worker: {count: 0, command: [x]}\n",
       "bad.yaml:4: replicas.worker.count: expected a positive integer"},
      {"name: a\nkind: custom\nreplicas:\n  worker: {count: two, command: [x]}\n",
       "bad.yaml:4: replicas.worker.count: expected an integer, got 'two'"},
      {"name: a\nkind: custom\nreplicas:\n  worker: {count: \"2\", command: [x]}\n",
       "bad.yaml:4: replicas.worker.count: expected an integer, got the string \"2\""},
      {"name: a\nkind: custom\nreplicas:\n  worker: {count: 1}\n",
       "bad.yaml:4: replicas.worker.command: required: the program and its arguments"},
      {"name: a\nkind: custom\nreplicas:\n  worker: {command: []}\n",
       "bad.yaml:4: replicas.worker.command: expected a non-empty list of strings, e.g. "
       "[\"sh\", \"-c\", \"...\"]"},
      {"name: a\nkind: custom\nreplicas:\n  worker: {command: [\"\", x]}\n",
       "bad.yaml:4: replicas.worker.command[0]: the program must not be empty"},
      {"name: Bad_Name\nkind: custom\nreplicas: {w: {command: [x]}}\n",
       "bad.yaml:1: name: expected lowercase letters, digits and '-', starting and ending with a "
       "letter or digit, at most 63 characters"},
      {"kind: custom\nreplicas: {w: {command: [x]}}\n", "bad.yaml:1: name: required"},
      {"name: a\nkind: batch\nreplicas: {w: {command: [x]}}\n",
       "bad.yaml:2: kind: expected train, serve or custom, not 'batch'"},
      {"name: a\nkind: workflow\nsteps: []\n",
       "bad.yaml:2: kind: a workflow is run with 'parasol workflow run -f FILE', not submitted as "
       "a job"},
      {"name: a\nreplicas: {w: {command: [x]}}\n",
       "bad.yaml:1: kind: required: train, serve or custom"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x]}}\nrestartPolicy: Always\n",
       "bad.yaml:4: restartPolicy: expected Never, OnFailure or ExitCode, not 'Always'"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x]}}\nbackoffLimit: -1\n",
       "bad.yaml:4: backoffLimit: expected a whole number >= 0"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x]}}\nactiveDeadlineSeconds: 0\n",
       "bad.yaml:4: activeDeadlineSeconds: expected a positive integer"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x], resources: {memory: lots}}}\n",
       "bad.yaml:3: replicas.w.resources.memory: expected bytes or a quantity such as 512Mi, 2Gi "
       "or 1G"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x], resources: {cpu: -1}}}\n",
       "bad.yaml:3: replicas.w.resources.cpu: expected a number of cores (2, 0.5 or \"500m\")"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x], resources: {gpu: 1.5}}}\n",
       "bad.yaml:3: replicas.w.resources.gpu: expected an integer, got '1.5'"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x], env: {1X: y}}}\n",
       "bad.yaml:3: replicas.w.env.1X: not a valid environment variable name"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x], env: {X: [y]}}}\n",
       "bad.yaml:3: replicas.w.env.X: expected a string, got a list"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x]}}\nnodeSelector: [ssd]\n",
       "bad.yaml:4: nodeSelector: expected a mapping LABEL: value"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x]}}\nimage: \"-bad\"\n",
       "bad.yaml:4: image: expected an image reference, e.g. python:3.11"},
      {"name: a\nkind: custom\nreplicas: {Worker: {command: [x]}}\n",
       "bad.yaml:3: replicas.Worker: role names are lowercase letters and digits (ps, worker)"},
      {"name: a\nkind: custom\nreplicas: {}\n",
       "bad.yaml:3: replicas: expected a mapping ROLE: {count, command}"},
      {"name: a\nkind: custom\n", "bad.yaml:1: replicas: required: ROLE: {count, command}"},
      {"name: a\nkind: serve\n",
       "bad.yaml:1: serve: required: the replicas and flags of kind serve"},
      {"name: a\nkind: serve\nserve: {args: {model-name: m}}\n",
       "bad.yaml:3: serve.args: needs model-base or model-config"},
      {"name: a\nkind: serve\nserve: {replicas: 2}\n",
       "bad.yaml:3: serve.args: required: the model server's flags, e.g. "
       "{model-base: models/churn}"},
      {"name: a\nkind: serve\nserve: {args: {model-base: m, rest-port: 8501}}\n",
       "bad.yaml:3: serve.args.rest-port: set by the control plane: each replica serves REST on "
       "its own port (PARASOL_PORT, shown by describe)"},
      {"name: a\nkind: serve\nserve: {replicas: 0, args: {model-base: m}}\n",
       "bad.yaml:3: serve.replicas: expected a positive integer"},
      {"name: a\nkind: serve\nserve: {replicas: 65, args: {model-base: m}}\n",
       "bad.yaml:3: serve.replicas: at most 64"},
      {"name: a\nkind: serve\nserve: {args: {model-base: m}}\nreplicas: {w: {command: [x]}}\n",
       "bad.yaml:4: replicas: not used by kind serve (set serve.replicas)"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x]}}\nserve: {args: {}}\n",
       "bad.yaml:4: serve: only used by kind serve"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x]}}\ntrain: {args: {}}\n",
       "bad.yaml:4: train: only used by kind train"},
      {"name: a\nkind: train\ntrain: {servers: 0, workers: 2, args: {train: x}}\n",
       "bad.yaml:3: train.workers: more than one worker needs train.servers >= 1"},
      {"name: a\nkind: train\ntrain: {servers: 300, args: {train: x}}\n",
       "bad.yaml:3: train: at most 256 servers and workers"},
      {"name: a\nkind: train\nreplicas: {w: {command: [x]}}\n",
       "bad.yaml:3: replicas: not used by kind train (set train.servers/workers)"},
      {"name: a\nkind: train\ntrain: {servers: 1}\n",
       "bad.yaml:3: train.args: required: the training flags, e.g. {train: x.svm, out: model}"},
      {"name: a\nkind: train\ntrain: {servers: 1, args: {train: x, checkpoint-every: 30s}}\n",
       "bad.yaml:3: train.args.checkpoint-every: not a training flag (a parameter-server launcher "
       "option; restarts follow restartPolicy and backoffLimit; checkpoints: "
       "train.checkpointEvery; a start: train.restore)"},
      {"name: a\nkind: train\ntrain: {servers: 1, args: {train: x, workers: 2}}\n",
       "bad.yaml:3: train.args.workers: set train.workers instead"},
      {"name: a\nkind: train\ntrain: {args: {Train: x}}\n",
       "bad.yaml:3: train.args.Train: not a flag name (--Train)"},
      {"name: a\nkind: train\ntrain:\n  servers: 1\n  checkpointEvery: 30s\n  args: {train: x}\n",
       "bad.yaml:4: train.checkpointDir: required with checkpointEvery when args has no out"},
      {"[1, 2]", "bad.yaml:1: expected a mapping with name, kind and replicas"},
      {"", "bad.yaml: expected a mapping with name, kind and replicas"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [\"\xff\"]}}\n",
       "bad.yaml: not UTF-8 text (byte 47 is not valid UTF-8)"},
      {"name: a\nname: b\nkind: custom\nreplicas: {w: {command: [x]}}\n",
       "bad.yaml:2: name: duplicate key"},
  };
  ExpectRejected(cases);
}

TEST(JobSpecTest, InvalidYamlNamesTheLine) {
  auto spec = ParseJobSpec("name: a\nkind: custom\nreplicas: {w: {command: [x]\n", "bad.yaml");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(spec.status().message().rfind("bad.yaml:4: not valid YAML: ", 0), 0u) << spec.status();
}

// Misspelled keys are refused with the nearest valid name, at every level of the spec.
TEST(JobSpecTest, MisspelledKeysGetDidYouMean) {
  const BadSpec cases[] = {
      {"name: a\nkind: custom\nreplicas: {w: {command: [x]}}\nrestartpolicy: Never\n",
       "bad.yaml:4: restartpolicy: unknown key, did you mean 'restartPolicy'?"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x]}}\nnodeSelecter: {disk: ssd}\n",
       "bad.yaml:4: nodeSelecter: unknown key, did you mean 'nodeSelector'?"},
      {"name: a\nkind: custom\nreplicas:\n  w:\n    command: [x]\n    imgae: python\n",
       "bad.yaml:6: replicas.w.imgae: unknown key, did you mean 'image'?"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x], resources: {cpus: 2}}}\n",
       "bad.yaml:3: replicas.w.resources.cpus: unknown key, did you mean 'cpu'?"},
      {"name: a\nkind: train\ntrain: {servers: 1, checkpointEvry: 30s, args: {out: m}}\n",
       "bad.yaml:3: train.checkpointEvry: unknown key, did you mean 'checkpointEvery'?"},
      {"name: a\nkind: custom\nreplicas: {w: {comand: [x]}}\n",
       "bad.yaml:3: replicas.w.command: required: the program and its arguments (is 'comand' a "
       "misspelling?)"},
      {"name: a\nkind: serve\nsrve: {args: {model-base: m}}\n",
       "bad.yaml:1: serve: required: the replicas and flags of kind serve (is 'srve' a "
       "misspelling?)"},
      {"name: a\nkind: custom\nreplicas: {w: {command: [x]}}\ncolour: red\n",
       "bad.yaml:4: colour: unknown key (known here: name, kind, env, workingDir, resources, "
       "image, nodeSelector, restartPolicy, backoffLimit, activeDeadlineSeconds, replicas, "
       "train, serve)"},
  };
  ExpectRejected(cases);
}

// Fields whose names are the user's own are read as written, in order.
TEST(JobSpecTest, UsersOwnNamesAreAccepted) {
  auto spec = ParseJobSpec(
      "name: a\nkind: custom\nenv: {Zed: \"1\", A_B: two}\nnodeSelector: {any/label: x}\n"
      "replicas: {ps: {command: [x]}, chief: {command: [y], env: {PORT: 8080}}}\n",
      "a.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->env, (std::map<std::string, std::string>{{"A_B", "two"}, {"Zed", "1"}}));
  EXPECT_EQ(spec->node_selector, (std::map<std::string, std::string>{{"any/label", "x"}}));
  ASSERT_EQ(spec->replicas.size(), 2u);
  EXPECT_EQ(spec->replicas[0].role, "ps");
  EXPECT_EQ(spec->replicas[1].role, "chief");
  EXPECT_EQ(spec->replicas[1].env.at("PORT"), "8080");  // a plain number is text here
  auto again = ParseJobSpec(JobSpecToJson(*spec), "json");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *spec);
}

}  // namespace
}  // namespace parasol::control
