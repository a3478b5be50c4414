#include "predict/predictor.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "common/hash.h"
#include "common/status_macros.h"

namespace parasol {

namespace {

// Deep models score batches: rows of up to kChunk examples at a time through ScoreBatch.
void PredictDeepBlock(const Model& model, const RowSource& source, const float* dense, float bias,
                      const ExampleBlock& block, std::vector<float>* probs) {
  constexpr size_t kChunk = 256;
  std::vector<const float*> rows;
  std::vector<float> scores, decoded;
  BatchScratch scratch;
  const uint32_t* offsets = block.offsets().data();
  const uint64_t* keys = block.keys().data();
  for (size_t begin = 0; begin < block.size(); begin += kChunk) {
    const size_t end = std::min(block.size(), begin + kChunk);
    rows.resize(offsets[end] - offsets[begin]);
    source.Gather(keys + offsets[begin], rows.size(), rows.data(), &decoded);
    scores.resize(end - begin);
    model.ScoreBatch({&block, begin, end, rows.data(), bias, dense}, &scratch, scores.data());
    for (float s : scores) probs->push_back(Sigmoid(s));
  }
}

}  // namespace

float TableRows::Bias() const {
  const float* bias_row = table_.Find(kBiasKey);
  return bias_row == nullptr ? 0.0f : bias_row[0];
}

void TableRows::Gather(const uint64_t* keys, size_t n, const float** rows,
                       std::vector<float>* /*scratch*/) const {
  for (size_t i = 0; i < n; ++i) {
    const float* row = table_.Find(keys[i]);
    rows[i] = row == nullptr ? zeros_.data() : row;
  }
}

void PredictBlock(const Model& model, const RowSource& source, const float* dense,
                  const ExampleBlock& block, std::vector<float>* probs) {
  const float bias = source.Bias();
  if (model.dense_size() > 0) return PredictDeepBlock(model, source, dense, bias, block, probs);
  std::vector<const float*> rows;
  std::vector<float> decoded;
  ModelScratch scratch;
  for (size_t e = 0; e < block.size(); ++e) {
    const ExampleView ex = block.example(e);
    rows.resize(ex.size);
    source.Gather(ex.keys, ex.size, rows.data(), &decoded);
    probs->push_back(Sigmoid(model.Score(ex, rows.data(), bias, &scratch)));
  }
}

void PredictBlock(const Model& model, const SparseTable& table, const float* dense,
                  const ExampleBlock& block, std::vector<float>* probs) {
  PredictBlock(model, TableRows(table, model.dim()), dense, block, probs);
}

std::vector<float> PredictBlocks(const Model& model, const SparseTable& table, const float* dense,
                                 const std::vector<ExampleBlock>& blocks, int threads) {
  std::vector<size_t> start(blocks.size() + 1, 0);
  for (size_t b = 0; b < blocks.size(); ++b) start[b + 1] = start[b] + blocks[b].size();
  std::vector<float> probs(start.back());
  std::atomic<size_t> next{0};
  auto work = [&] {
    std::vector<float> local;
    for (size_t b; (b = next.fetch_add(1)) < blocks.size();) {
      local.clear();
      PredictBlock(model, table, dense, blocks[b], &local);
      std::copy(local.begin(), local.end(), probs.begin() + start[b]);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  return probs;
}

absl::StatusOr<std::unique_ptr<Predictor>> Predictor::Load(const std::string& model_dir) {
  auto predictor = std::unique_ptr<Predictor>(new Predictor());
  ASSIGN_OR_RETURN(predictor->loaded_, LoadModelDir(model_dir, /*with_state=*/false));
  ASSIGN_OR_RETURN(predictor->input_, InputSpecFromManifest(predictor->loaded_.manifest));
  return predictor;
}

absl::Status Predictor::PredictFile(
    const std::string& path, int threads,
    const std::function<void(const ExampleBlock&, const std::vector<float>&)>& fn,
    bool labels_optional) const {
  ASSIGN_OR_RETURN(auto reader,
                   OpenDataReader(path, input_.MakeReaderOptions(threads > 1 ? threads : 0, 0,
                                                                 labels_optional)));
  ExampleBlock block;
  std::vector<float> probs;
  while (true) {
    ASSIGN_OR_RETURN(bool more, reader->Next(&block));
    if (!more) break;
    probs.clear();
    PredictBlock(*loaded_.model, *loaded_.table, loaded_.dense.data(), block, &probs);
    fn(block, probs);
  }
  return absl::OkStatus();
}

absl::Status Predictor::ScoreLabelled(const std::string& path, int threads,
                                      std::vector<float>* probs, std::vector<float>* labels) const {
  const size_t before = probs->size();
  auto st = PredictFile(path, threads, [&](const ExampleBlock& block, const std::vector<float>& p) {
    probs->insert(probs->end(), p.begin(), p.end());
    labels->insert(labels->end(), block.labels().begin(), block.labels().end());
  });
  if (!st.ok()) return st;
  if (probs->size() == before) {
    return absl::InvalidArgumentError(path + ": no examples to evaluate");
  }
  return absl::OkStatus();
}

}  // namespace parasol
