// Deep models over sparse features: DNN, Wide&Deep, DeepFM and DCN-v2. Each feature row of the
// sparse table is [w, e_1 .. e_d]: a linear weight (used by Wide&Deep and DeepFM, kept at 0 by
// DNN and DCN) and the feature's embedding. Per example, the embeddings of each field are pooled
// (sum or mean, each scaled by its feature's value) into x0 = [p_0, .., p_{F-1}] (F·d floats),
// which feeds the dense part:
//   dnn        logit = b + MLP(x0)
//   wide_deep  logit = b + Σ w_i x_i + MLP(x0)
//   deepfm     logit = b + Σ w_i x_i + ½ Σ_j [(Σ_i x_i e_ij)² − Σ_i (x_i e_ij)²] + MLP(x0)
//   dcn        cross layers x_{l+1} = x0 ⊙ (C_l x_l + c_l) + x_l (full rank), then
//              parallel: logit = b + w·[MLP(x0), x_L]   stacked: logit = b + MLP(x_L)
// MLP(x) = w_out · h_L with h_{l+1} = dropout(ReLU(W_l h_l + c_l)); b is the global bias row.
// The dense weights (all W, c, C and w_out) are one flat vector owned by the caller, laid out as
// DenseLayout says (docs/model-format.md). Batches are computed with the GEMMs of
// dense_kernels.h. Thread-safe like every Model: state lives in the caller's scratch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/model.h"

namespace parasol {

// Where each dense parameter block sits in the flat dense vector.
struct DenseBlock {
  std::string name;  // "mlp.0.weight", "mlp.0.bias", "cross.1.weight", "out.weight", ...
  int64_t offset = 0;
  int rows = 0, cols = 0;  // a bias is 1 × n
};

class DeepModel final : public Model {
 public:
  explicit DeepModel(const ModelSpec& spec);

  int dense_size() const override { return static_cast<int>(dense_size_); }
  void InitDense(float* w) const override;
  const std::vector<DenseBlock>& dense_blocks() const { return blocks_; }
  int input_width() const { return input_width_; }

  // The per-example interface is the sparse models'; deep models score batches only.
  float Score(const ExampleView&, const float* const*, float, ModelScratch*) const override;
  void Gradient(const ExampleView&, const float* const*, float, ModelScratch*,
                float*) const override;

  void ScoreBatch(const BatchInput& in, BatchScratch* scratch, float* scores) const override;
  float TrainBatch(const BatchInput& in, BatchScratch* scratch, float* scores, float* row_grads,
                   float* dense_grads) const override;

 private:
  struct Buffers;
  static constexpr size_t kScoreTile = 64;  // rows scored at once
  // Forward pass over the batch; fills the activations in *b and scores.
  void Forward(const BatchInput& in, bool training, Buffers* b, float* scores) const;
  Buffers Carve(int n, BatchScratch* scratch) const;

  bool linear_ = false, fm_ = false, parallel_ = false;
  int fields_ = 0, d_ = 0, input_width_ = 0;
  std::vector<int> widths_;             // MLP hidden widths
  std::vector<int64_t> mlp_w_, mlp_b_;  // offsets of each layer's weights and biases
  std::vector<int64_t> cross_w_, cross_b_;
  int64_t out_w_ = 0;  // output weights: [MLP part (last width or its input), cross part (D)]
  int mlp_out_ = 0;    // floats of the MLP's output the output layer reads
  int64_t dense_size_ = 0;
  std::vector<DenseBlock> blocks_;
};

}  // namespace parasol
