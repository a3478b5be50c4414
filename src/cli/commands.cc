#include "cli/commands.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/control_command.h"
#include "cli/exit_codes.h"
#include "cli/job_command.h"
#include "cli/knn_command.h"
#include "cli/ps_command.h"
#include "cli/serve_command.h"
#include "cli/stream_command.h"
#include "cli/tenant_command.h"
#include "cli/train_flags.h"
#include "cli/workflow_command.h"
#include "data/gen.h"
#include "metrics/metrics.h"
#include "model/dense_kernels.h"
#include "predict/predictor.h"
#include "train/progress.h"
#include "train/trainer.h"

namespace parasol {
namespace {

// ---------------------------------------------------------------------------------------------
// train

void AddTrain(CLI::App& app, TrainFlags& f) {
  auto* cmd =
      app.add_subcommand("train", "Train a model on one machine and write a model directory");
  AddTrainOptions(cmd, f, /*out_required=*/true);
}

int RunTrain(const TrainFlags& f) {
  auto resolved = ResolveTrainConfig(f, /*out_required=*/true);
  if (!resolved.ok()) return Fail(kExitUsage, resolved.status());
  const TrainConfig& config = *resolved;
  const char* report = std::getenv(kMetricsFileEnv);  // set for replicas of a control-plane job
  auto summary = Train(config, isatty(STDERR_FILENO) == 1, report != nullptr ? report : "");
  if (!summary.ok()) return Fail(kExitRuntime, summary.status());
  std::string line = absl::StrFormat(
      "trained %s on %d examples (%d epochs, best epoch %d) in %.2fs: %d features, train loss "
      "%.5f",
      ModelTypeName(config.model.type), summary->examples, summary->epochs_run, summary->best_epoch,
      summary->seconds, summary->features, summary->train_loss);
  if (summary->valid_auc) {
    line += absl::StrFormat(", valid auc %.5f logloss %.5f", *summary->valid_auc,
                            *summary->valid_logloss);
  }
  // Which compiled GEMM kernels ran: benchmarks state it beside their figures.
  if (IsDeep(config.model.type)) line += absl::StrCat(", dense kernels ", dense::KernelIsa());
  std::fprintf(stderr, "%s\nmodel written to %s\n", line.c_str(), config.out_dir.c_str());
  if (!summary->bad_lines.empty()) std::fprintf(stderr, "%s\n", summary->bad_lines.c_str());
  return kExitOk;
}

// ---------------------------------------------------------------------------------------------
// eval and predict

struct ScoreFlags {
  std::string model_dir, data, format, out, roc;
  bool json = false;
  double threshold = 0.5;
  int threads = 0;
};

absl::StatusOr<std::unique_ptr<Predictor>> LoadForScoring(const ScoreFlags& f, int* exit_code) {
  auto predictor = Predictor::Load(f.model_dir);
  if (!predictor.ok()) {
    *exit_code = kExitRuntime;
    return predictor.status();
  }
  if (!f.format.empty()) {
    auto format = ParseDataFormat(f.format);
    if (!format.ok() || *format != (*predictor)->input().format) {
      *exit_code = kExitUsage;
      return absl::InvalidArgumentError(
          absl::StrFormat("--format %s does not match the model, which reads %s input", f.format,
                          DataFormatName((*predictor)->input().format)));
    }
  }
  return predictor;
}

int RunEval(const ScoreFlags& f) {
  int code = kExitOk;
  auto predictor = LoadForScoring(f, &code);
  if (!predictor.ok()) return Fail(code, predictor.status());
  if (!(f.threshold >= 0 && f.threshold <= 1)) {
    return Fail(kExitUsage, absl::InvalidArgumentError("--threshold must be in [0, 1]"));
  }
  std::vector<float> probs, labels;
  auto st = (*predictor)->ScoreLabelled(f.data, f.threads, &probs, &labels);
  if (!st.ok()) return Fail(kExitRuntime, st);
  const BinaryMetrics m = ComputeBinaryMetrics(probs, labels, f.threshold);
  if (!f.roc.empty()) {
    std::ofstream svg(f.roc);
    svg << RenderCurvesSvg(probs, labels, f.data);
    if (!svg) return Fail(kExitRuntime, absl::UnavailableError("cannot write " + f.roc));
  }
  auto num = [](double v) {
    return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
  };
  if (f.json) {
    nlohmann::json j;
    for (const auto& [name, value] : NamedMetrics(m)) j[name] = num(value);
    j["count"] = m.count;  // an integer
    j["threshold"] = m.threshold;
    j["confusion"] = {{"tp", m.confusion.tp},
                      {"fp", m.confusion.fp},
                      {"tn", m.confusion.tn},
                      {"fn", m.confusion.fn}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("count        %lld\n", static_cast<long long>(m.count));
    std::printf("auc          %.6f\npr_auc       %.6f\nlogloss      %.6f\n", m.auc, m.pr_auc,
                m.logloss);
    std::printf("accuracy     %.6f\nerror_rate   %.6f\nprecision    %.6f\nrecall       %.6f\n",
                m.accuracy, m.error_rate, m.precision, m.recall);
    std::printf("specificity  %.6f\nf1           %.6f\nmcc          %.6f\n", m.specificity, m.f1,
                m.mcc);
    std::printf("confusion at threshold %g: tp %lld  fp %lld  tn %lld  fn %lld\n", m.threshold,
                static_cast<long long>(m.confusion.tp), static_cast<long long>(m.confusion.fp),
                static_cast<long long>(m.confusion.tn), static_cast<long long>(m.confusion.fn));
  }
  return kExitOk;
}

int RunPredict(const ScoreFlags& f) {
  int code = kExitOk;
  auto predictor = LoadForScoring(f, &code);
  if (!predictor.ok()) return Fail(code, predictor.status());
  std::FILE* out = stdout;
  if (!f.out.empty()) {
    out = std::fopen(f.out.c_str(), "w");
    if (out == nullptr) return Fail(kExitRuntime, absl::UnavailableError("cannot create " + f.out));
  }
  // New data to score usually has no labels.
  auto st = (*predictor)
                ->PredictFile(
                    f.data, f.threads,
                    [&](const ExampleBlock&, const std::vector<float>& p) {
                      for (float v : p) std::fprintf(out, "%.9g\n", v);
                    },
                    /*labels_optional=*/true);
  const bool write_ok = std::fflush(out) == 0 && (out == stdout || std::fclose(out) == 0);
  if (!st.ok()) return Fail(kExitRuntime, st);
  if (!write_ok) return Fail(kExitRuntime, absl::UnavailableError("cannot write " + f.out));
  return kExitOk;
}

void AddScoreOptions(CLI::App* cmd, ScoreFlags& f) {
  cmd->add_option("--model", f.model_dir, "Model directory written by 'parasol train'")->required();
  cmd->add_option("--data", f.data, "Data file (plain, gzip or zstd)")->required();
  cmd->add_option("--format", f.format,
                  "Input format; must match the model's (default: the model's)");
  cmd->add_option("--threads", f.threads, "Parser threads (default: 0 = parse on the main thread)");
}

// ---------------------------------------------------------------------------------------------
// gen

struct GenFlags {
  GenOptions options;
  std::string out;
  std::string teacher = "lr";
  std::string logits;  // file of teacher logits, one per row; empty: none
};

int RunGen(GenFlags& flags) {
  GenOptions& options = flags.options;
  if (options.features == 0 || options.vocab < options.features) {
    return Fail(kExitUsage, absl::InvalidArgumentError("--vocab must be >= --features >= 1"));
  }
  if (auto st = ParseGenTeacher(flags.teacher, &options.teacher); !st.ok()) {
    return Fail(kExitUsage, st);
  }
  std::vector<float> logits;
  if (auto st = GenerateLibsvm(options, flags.out, flags.logits.empty() ? nullptr : &logits);
      !st.ok()) {
    return Fail(kExitRuntime, st);
  }
  if (!flags.logits.empty()) {
    std::FILE* f = std::fopen(flags.logits.c_str(), "wb");
    if (f == nullptr)
      return Fail(kExitRuntime, absl::UnavailableError("cannot create " + flags.logits));
    bool ok = true;
    for (float l : logits) ok = ok && std::fprintf(f, "%.6g\n", l) > 0;
    ok = std::fclose(f) == 0 && ok;
    if (!ok) return Fail(kExitRuntime, absl::UnavailableError("cannot write " + flags.logits));
  }
  return kExitOk;
}

void AddEval(CLI::App& app, ScoreFlags& eval) {
  auto* cmd = app.add_subcommand("eval", "Evaluate a model on labelled data");
  AddScoreOptions(cmd, eval);
  cmd->add_flag("--json", eval.json, "Print one JSON object");
  cmd->add_option("--threshold", eval.threshold, "Probability counted as positive (default 0.5)");
  cmd->add_option("--roc", eval.roc, "Write ROC and PR curves to this SVG file");
}

void AddPredict(CLI::App& app, ScoreFlags& predict) {
  auto* cmd = app.add_subcommand(
      "predict", "Write one probability per input example, in order (labels optional)");
  AddScoreOptions(cmd, predict);
  cmd->add_option("--out", predict.out, "Output file (default stdout)");
}

void AddGen(CLI::App& app, GenFlags& flags) {
  GenOptions& gen = flags.options;
  auto* cmd = app.add_subcommand("gen", "Generate synthetic CTR-like libsvm or libffm data");
  cmd->add_option("--rows", gen.rows, "Rows to write")->required();
  cmd->add_option("--features", gen.features, "Non-zero features per row (one per field)")
      ->required();
  cmd->add_option("--out", flags.out, "Output file ('-' for stdout)")->required();
  cmd->add_flag("--fields", gen.fields,
                "Write libffm 'field:idx:1' tokens (fields 0..features-1; the same idx as without "
                "--fields), the input deep models need");
  cmd->add_option("--teacher", flags.teacher,
                  "What makes the labels: lr (a planted weight per feature, the default) or deep "
                  "(a random two-layer network over 8-float field embeddings: interactions "
                  "matter)");
  cmd->add_option("--logits", flags.logits,
                  "Also write each row's teacher logit, one per line (the Bayes-optimal scores)");
  cmd->add_option("--seed", gen.seed, "Random seed (default 1)");
  cmd->add_option("--vocab", gen.vocab, "Distinct feature ids over all fields (default 1000000)");
  cmd->add_option("--zipf", gen.zipf_s, "Power-law exponent of feature frequencies (default 1.1)");
  cmd->add_option("--ctr", gen.base_ctr, "Approximate positive rate (default 0.25)");
}

}  // namespace

int RunCli(int argc, char** argv) {
  // The local backend's replica shim takes a raw command line after "--"; it bypasses CLI11.
  if (argc >= 2 && std::string(argv[1]) == "replica-exec") {
    return RunReplicaExec(std::vector<std::string>(argv + 2, argv + argc));
  }
  CLI::App app{"Parasol: machine learning on sparse data (train, evaluate, predict)", "parasol"};
  app.set_version_flag("--version", "parasol 0.1.0");
  app.require_subcommand(1);

  TrainFlags train;
  AddTrain(app, train);

  ScoreFlags eval, predict;
  AddEval(app, eval);
  AddPredict(app, predict);
  GenFlags gen;
  AddGen(app, gen);

  PsServerFlags ps_server;
  PsWorkerFlags ps_worker;
  PsCheckpointFlags ps_checkpoint;
  CLI::App* ps_cmd = AddPsCommand(app, ps_server, ps_worker, ps_checkpoint);
  ClusterFlags cluster;
  AddClusterCommand(app, cluster);

  KnnFlags knn;
  AddKnnCommand(app, knn);

  ControlFlags control;
  AddControlCommand(app, control);
  JobFlags job;
  CLI::App* job_cmd = AddJobCommand(app, job);
  TenantFlags tenant;
  AddTenantCommands(app, tenant);
  ServeFlags serve;
  AddServeCommand(app, serve);
  WorkflowFlags workflow;
  CLI::App* workflow_cmd = AddWorkflowCommand(app, workflow);
  StreamFlags stream;
  AddStreamCommand(app, stream);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  if (app.got_subcommand("train")) return RunTrain(train);
  if (app.got_subcommand("eval")) return RunEval(eval);
  if (app.got_subcommand("predict")) return RunPredict(predict);
  if (app.got_subcommand("gen")) return RunGen(gen);
  if (app.got_subcommand("knn")) return RunKnn(knn);
  if (app.got_subcommand("control")) return RunControl(control);
  if (app.got_subcommand("job")) return RunJob(*job_cmd, job);
  if (const int rc = RunTenant(app, tenant); rc >= 0) return rc;
  if (app.got_subcommand("serve")) return RunServe(serve);
  if (app.got_subcommand("workflow")) return RunWorkflow(*workflow_cmd, workflow);
  if (app.got_subcommand("stream")) return RunStream(stream);
  if (app.got_subcommand("ps") && ps_cmd->got_subcommand("server")) return RunPsServer(ps_server);
  if (app.got_subcommand("ps") && ps_cmd->got_subcommand("worker")) return RunPsWorker(ps_worker);
  if (app.got_subcommand("ps") && ps_cmd->got_subcommand("checkpoint")) {
    return RunPsCheckpoint(ps_checkpoint);
  }
  if (app.got_subcommand("cluster")) {
    int at = 1;  // the arguments after the word "cluster" go to the workers
    while (at < argc && std::string(argv[at]) != "cluster") ++at;
    return RunCluster(cluster, argv[0], std::vector<std::string>(argv + at + 1, argv + argc));
  }
  return kExitUsage;
}

}  // namespace parasol
