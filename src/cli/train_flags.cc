#include "cli/train_flags.h"

#include <fstream>
#include <sstream>

#include "common/status_macros.h"

namespace parasol {

void AddTrainOptions(CLI::App* cmd, TrainFlags& f, bool out_required) {
  TrainConfig& c = f.config;
  cmd->add_option("--train", c.train_path, "Training data file (plain, gzip or zstd)")->required();
  cmd->add_option("--valid", c.valid_path,
                  "Validation data: AUC/logloss after each epoch, early stopping, best epoch kept");
  auto* out = cmd->add_option("--out", c.out_dir, "Output model directory");
  if (out_required) out->required();
  cmd->add_option("--config", f.config_path,
                  "Model config YAML (model, optimizer, transforms, ...); flags override it");
  cmd->add_option(
      "--model", f.model,
      "lr | fm | ffm | perceptron | dnn | wide_deep | deepfm | dcn (default lr; deep models "
      "take embedding_dim, hidden, dropout, cross_layers... from --config)");
  cmd->add_option("--optimizer", f.optimizer,
                  "sgd | adagrad | ftrl | adam (default adagrad; deep models adam)");
  f.lr = cmd->add_option("--lr", c.optimizer.lr, "Learning rate (default per optimizer)");
  f.l1 = cmd->add_option("--l1", c.optimizer.l1, "L1 regularisation");
  f.l2 = cmd->add_option("--l2", c.optimizer.l2, "L2 regularisation");
  f.k = cmd->add_option("--k", c.model.k, "Factor dimension for fm/ffm (default 8)");
  f.epochs = cmd->add_option(
      "--epochs", c.epochs,
      "Passes over the training data (default: auto, until the training loss improves by "
      "less than 1% per pass, at most 20; with --valid, early stopping decides)");
  f.threads = cmd->add_option("--threads", c.threads, "Learner threads (default: all cores)");
  cmd->add_option("--format", f.format, "libsvm | csv | criteo (default libsvm)");
  f.schema = cmd->add_option("--schema", c.schema_path, "CSV schema YAML");
  f.seed = cmd->add_option("--seed", c.model.seed, "Seed for initial weights (default 1)");
  cmd->add_option("--cache", c.cache_path,
                  "Binary cache of parsed data: written on the first run, read by later runs");
  f.hash_bits = cmd->add_option("--hash-bits", c.hash_bits,
                                "Hash features into 2^B buckets (default 0: full 64-bit keys)");
  f.max_bad = cmd->add_option("--max-bad-lines", c.max_bad_lines,
                              "Skip up to N malformed lines (default 0: stop at the first)");
  f.batch = cmd->add_option("--batch-size", c.batch_size,
                            "Examples per optimizer step (default 1, deep models 256; B > 1 sums "
                            "gradients per key, as distributed training does)");
  cmd->add_option("--consistency", f.consistency,
                  "Distributed only: bsp (default), ssp:S (at most S batches ahead) or asp");
  f.early =
      cmd->add_option("--early-stopping", c.early_stopping,
                      "Stop after N epochs without validation improvement (0 = off, default 2)");
}

absl::StatusOr<TrainConfig> ResolveTrainConfig(const TrainFlags& f, bool out_required) {
  TrainConfig config;
  if (!f.config_path.empty()) {
    std::ifstream in(f.config_path);
    if (!in) return absl::NotFoundError("cannot read config " + f.config_path);
    std::stringstream text;
    text << in.rdbuf();
    RETURN_IF_ERROR(ApplyConfigYaml(text.str(), f.config_path, &config));
  }
  const TrainConfig& flags = f.config;
  config.train_path = flags.train_path;
  config.valid_path = flags.valid_path;
  config.out_dir = flags.out_dir;
  config.cache_path = flags.cache_path;
  if (!f.model.empty()) {
    ASSIGN_OR_RETURN(config.model.type, ParseModelType(f.model));
  }
  if (!f.optimizer.empty()) config.optimizer.name = f.optimizer;
  if (!f.format.empty()) {
    ASSIGN_OR_RETURN(config.format, ParseDataFormat(f.format));
  }
  if (f.lr->count()) config.optimizer.lr = flags.optimizer.lr;
  if (f.l1->count()) config.optimizer.l1 = flags.optimizer.l1;
  if (f.l2->count()) config.optimizer.l2 = flags.optimizer.l2;
  if (f.k->count()) config.model.k = flags.model.k;
  if (f.epochs->count()) config.epochs = flags.epochs;
  if (f.threads->count()) config.threads = flags.threads;
  if (f.seed->count()) config.model.seed = flags.model.seed;
  if (f.hash_bits->count()) config.hash_bits = flags.hash_bits;
  if (f.max_bad->count()) config.max_bad_lines = flags.max_bad_lines;
  if (f.early->count()) config.early_stopping = flags.early_stopping;
  if (f.batch->count()) config.batch_size = flags.batch_size;
  if (!f.consistency.empty()) {
    ASSIGN_OR_RETURN(config.staleness, ParseConsistency(f.consistency));
  }
  if (f.schema->count()) config.schema_path = flags.schema_path;
  TrainConfig checked = config;
  if (!out_required && checked.out_dir.empty()) checked.out_dir = "(unused)";
  RETURN_IF_ERROR(ValidateTrainConfig(checked));
  return config;
}

}  // namespace parasol
