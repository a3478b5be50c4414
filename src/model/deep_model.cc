#include "model/deep_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "model/dense_kernels.h"

namespace parasol {
namespace {

// Dense initial values are a function of (seed, block, index), like the rows' (seed, key).
constexpr uint64_t kDenseInitKey = 0x6465657064656e73ULL;  // "deepdens"

// Splitmix64: dropout masks from (seed, position), reproducible and cheap.
inline uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

// Activations of one batch of n examples, carved from the scratch buffer.
struct DeepModel::Buffers {
  int n = 0;
  float* x0 = nullptr;           // n × D pooled embeddings
  std::vector<float*> cross_x;   // x_1 .. x_L (n × D each); x_0 is x0
  std::vector<float*> cross_u;   // C_l x_l + c_l (n × D each)
  std::vector<float*> act;       // per hidden layer: ReLU output, dropout applied (n × h)
  std::vector<float*> mask;      // per hidden layer: dropout scale (0 or 1/(1−p)), training
  float* fm_sums = nullptr;      // n × d: Σ x_i e_i (DeepFM)
  float* grad_a = nullptr;       // backward scratch, n × max(width, D)
  float* grad_b = nullptr;       // backward scratch, n × max(width, D)
  float* grad_c = nullptr;       // backward scratch, n × max(width, D)
  float* grad_x0 = nullptr;      // n × D
  float* field_count = nullptr;  // n × F: values per field (mean pooling)
};

DeepModel::DeepModel(const ModelSpec& spec) : Model(spec, 1 + spec.embedding_dim) {
  linear_ = spec.type == ModelType::kWideDeep || spec.type == ModelType::kDeepFm;
  fm_ = spec.type == ModelType::kDeepFm;
  const bool dcn = spec.type == ModelType::kDcn;
  parallel_ = dcn && !spec.dcn_stacked;
  fields_ = spec.num_fields;
  d_ = spec.embedding_dim;
  input_width_ = fields_ * d_;
  widths_ = spec.hidden;
  auto add = [&](std::string name, int rows, int cols) {
    blocks_.push_back({std::move(name), dense_size_, rows, cols});
    dense_size_ += int64_t{rows} * cols;
    return blocks_.back().offset;
  };
  const int cross = dcn ? spec.cross_layers : 0;
  for (int l = 0; l < cross; ++l) {
    cross_w_.push_back(add(absl::StrCat("cross.", l, ".weight"), input_width_, input_width_));
    cross_b_.push_back(add(absl::StrCat("cross.", l, ".bias"), 1, input_width_));
  }
  int in = input_width_;
  for (size_t l = 0; l < widths_.size(); ++l) {
    mlp_w_.push_back(add(absl::StrCat("mlp.", l, ".weight"), widths_[l], in));
    mlp_b_.push_back(add(absl::StrCat("mlp.", l, ".bias"), 1, widths_[l]));
    in = widths_[l];
  }
  mlp_out_ = widths_.empty() ? (parallel_ ? 0 : input_width_) : widths_.back();
  out_w_ = add("out.weight", 1, mlp_out_ + (parallel_ ? input_width_ : 0));
}

void DeepModel::InitDense(float* w) const {
  // Glorot-uniform weights, zero biases.
  for (size_t b = 0; b < blocks_.size(); ++b) {
    const DenseBlock& block = blocks_[b];
    float* p = w + block.offset;
    const int64_t size = int64_t{block.rows} * block.cols;
    const bool bias = block.name.size() > 5 && block.name.ends_with(".bias");
    if (bias) {
      std::fill(p, p + size, 0.0f);
      continue;
    }
    const float limit = std::sqrt(6.0f / static_cast<float>(block.rows + block.cols));
    for (int64_t i = 0; i < size; ++i) {
      p[i] = limit * HashUniform(spec_.seed, kDenseInitKey + b, static_cast<uint32_t>(i));
    }
  }
}

float DeepModel::Score(const ExampleView&, const float* const*, float, ModelScratch*) const {
  return std::nanf("");  // deep models score batches only (ScoreBatch)
}

void DeepModel::Gradient(const ExampleView& ex, const float* const*, float, ModelScratch*,
                         float* grads) const {
  std::fill(grads, grads + static_cast<size_t>(ex.size) * dim_, std::nanf(""));
}

DeepModel::Buffers DeepModel::Carve(int n, BatchScratch* scratch) const {
  const size_t D = input_width_;
  size_t widest = D;
  for (int w : widths_) widest = std::max<size_t>(widest, w);
  const size_t cross = cross_w_.size();
  size_t total = n * D * (2 + 2 * cross) + 3 * n * widest + size_t(n) * fields_;
  for (int w : widths_) total += 2 * size_t(n) * w;
  if (fm_) total += size_t(n) * d_;
  if (scratch->buffer.size() < total) scratch->buffer.resize(total);
  float* p = scratch->buffer.data();
  auto take = [&](size_t floats) {
    float* q = p;
    p += floats;
    return q;
  };
  Buffers b;
  b.n = n;
  b.x0 = take(n * D);
  b.grad_x0 = take(n * D);
  for (size_t l = 0; l < cross; ++l) {
    b.cross_x.push_back(take(n * D));
    b.cross_u.push_back(take(n * D));
  }
  for (int w : widths_) {
    b.act.push_back(take(size_t(n) * w));
    b.mask.push_back(take(size_t(n) * w));
  }
  b.grad_a = take(n * widest);
  b.grad_b = take(n * widest);
  b.grad_c = take(n * widest);
  b.field_count = take(size_t(n) * fields_);
  if (fm_) b.fm_sums = take(size_t(n) * d_);
  return b;
}

void DeepModel::Forward(const BatchInput& in, bool training, Buffers* b, float* scores) const {
  // The batch's n examples; *b was carved for at least n rows.
  const int n = static_cast<int>(in.end - in.begin), D = input_width_, d = d_;
  const ExampleBlock& block = *in.block;
  const uint32_t* offsets = block.offsets().data();
  const uint32_t* fields = block.fields().data();
  const float* values = block.values().data();
  const uint32_t last_field = static_cast<uint32_t>(fields_ - 1);
  // Pooling, the linear part and FM sums.
  std::fill(b->x0, b->x0 + size_t(n) * D, 0.0f);
  if (spec_.pooling == Pooling::kMean)
    std::fill(b->field_count, b->field_count + n * fields_, 0.0f);
  const float* const* rows = in.rows;
  for (int e = 0; e < n; ++e) {
    const uint32_t begin = offsets[in.begin + e], end = offsets[in.begin + e + 1];
    float* x = b->x0 + size_t(e) * D;
    float logit = in.bias;
    float* sums = fm_ ? b->fm_sums + size_t(e) * d : nullptr;
    if (fm_) std::fill(sums, sums + d, 0.0f);
    float squares = 0;
    for (uint32_t i = begin; i < end; ++i, ++rows) {
      const float* row = *rows;
      const float v = values[i];
      const uint32_t f = std::min(fields[i], last_field);
      float* p = x + size_t(f) * d;
      const float* emb = row + 1;
      for (int j = 0; j < d; ++j) p[j] += v * emb[j];
      if (spec_.pooling == Pooling::kMean) b->field_count[e * fields_ + f] += 1;
      if (linear_) logit += row[0] * v;
      if (fm_) {
        for (int j = 0; j < d; ++j) {
          const float ve = v * emb[j];
          sums[j] += ve;
          squares += ve * ve;
        }
      }
    }
    if (fm_) {
      float pair = 0;
      for (int j = 0; j < d; ++j) pair += sums[j] * sums[j];
      logit += 0.5f * (pair - squares);
    }
    if (spec_.pooling == Pooling::kMean) {
      for (int f = 0; f < fields_; ++f) {
        const float c = b->field_count[e * fields_ + f];
        if (c > 1) {
          for (int j = 0; j < d; ++j) x[f * d + j] /= c;
        }
      }
    }
    scores[e] = logit;
  }
  // Cross layers: x_{l+1} = x0 ⊙ (x_l C_lᵀ + c_l) + x_l.
  const float* x_l = b->x0;
  for (size_t l = 0; l < cross_w_.size(); ++l) {
    float* u = b->cross_u[l];
    const float* c = in.dense + cross_b_[l];
    // Training multiplies whole batches (GEMM); scoring goes row by row in effect (Linear), so
    // that a row scores the same alone as in any batch.
    if (training) {
      dense::Gemm(false, true, n, D, D, x_l, D, in.dense + cross_w_[l], D, false, u, D);
    } else {
      dense::Linear(n, D, D, x_l, D, in.dense + cross_w_[l], D, c, /*relu=*/false, u, D);
    }
    float* next = b->cross_x[l];
    for (int e = 0; e < n; ++e) {
      float* ue = u + size_t(e) * D;
      const float* x0e = b->x0 + size_t(e) * D;
      const float* xle = x_l + size_t(e) * D;
      float* ne = next + size_t(e) * D;
      if (training) {
        for (int j = 0; j < D; ++j) ue[j] += c[j];
      }
      for (int j = 0; j < D; ++j) ne[j] = x0e[j] * ue[j] + xle[j];
    }
    x_l = next;
  }
  // MLP over x0 (or, stacked, over the cross output).
  const float* h = parallel_ || cross_w_.empty() ? b->x0 : x_l;
  int in_width = D;
  const float keep = 1.0f - spec_.dropout;
  const bool drop = training && spec_.dropout > 0;
  for (size_t l = 0; l < widths_.size(); ++l) {
    const int w = widths_[l];
    float* a = b->act[l];
    if (training) {
      dense::Gemm(false, true, n, w, in_width, h, in_width, in.dense + mlp_w_[l], in_width, false,
                  a, w);
      dense::BiasRelu(n, w, in.dense + mlp_b_[l], a);
    } else {
      dense::Linear(n, w, in_width, h, in_width, in.dense + mlp_w_[l], in_width,
                    in.dense + mlp_b_[l], /*relu=*/true, a, w);
    }
    if (drop) {
      float* m = b->mask[l];
      const uint64_t seed = Mix64(in.dropout_seed ^ (uint64_t{l} << 56));
      const size_t count = size_t(n) * w;
      const uint64_t threshold = static_cast<uint64_t>(keep * 4294967296.0);
      for (size_t i = 0; i < count; ++i) {
        m[i] = (Mix64(seed + i) >> 32) < threshold ? 1.0f / keep : 0.0f;
        a[i] *= m[i];
      }
    }
    h = a;
    in_width = w;
  }
  // Output layer.
  const float* wo = in.dense + out_w_;
  for (int e = 0; e < n; ++e) {
    float s = 0;
    if (mlp_out_ > 0) {
      const float* he = h + size_t(e) * mlp_out_;
      for (int j = 0; j < mlp_out_; ++j) s += he[j] * wo[j];
    }
    if (parallel_) {
      const float* xe = x_l + size_t(e) * D;
      for (int j = 0; j < D; ++j) s += xe[j] * wo[mlp_out_ + j];
    }
    scores[e] += s;
  }
}

void DeepModel::ScoreBatch(const BatchInput& in, BatchScratch* scratch, float* scores) const {
  // Tiles of at most kScoreTile rows (the activations of a tile stay in cache). The layers run
  // through dense::Linear, whose every output is summed the same way whatever the batch, so an
  // example scores the same whether it comes alone (a one-row request) or among thousands (a
  // file), and a short request pays for its own rows only.
  Buffers b = Carve(kScoreTile, scratch);
  const float* const* rows = in.rows;
  const uint32_t* offsets = in.block->offsets().data();
  for (size_t begin = in.begin; begin < in.end; begin += kScoreTile) {
    BatchInput tile = in;
    tile.begin = begin;
    tile.end = std::min(in.end, begin + kScoreTile);
    tile.rows = rows + (offsets[begin] - offsets[in.begin]);
    Forward(tile, /*training=*/false, &b, scores + (begin - in.begin));
  }
}

float DeepModel::TrainBatch(const BatchInput& in, BatchScratch* scratch, float* scores,
                            float* row_grads, float* dense_grads) const {
  const int n = static_cast<int>(in.end - in.begin);
  const int D = input_width_, d = d_;
  Buffers b = Carve(n, scratch);
  Forward(in, /*training=*/true, &b, scores);
  const ExampleBlock& block = *in.block;
  std::vector<float>& dl = scratch->dloss;
  dl.resize(n);
  float bias_grad = 0;
  for (int e = 0; e < n; ++e) {
    dl[e] = Sigmoid(scores[e]) - block.labels()[in.begin + e];
    bias_grad += dl[e];
  }
  // dense_grads is overwritten: each weight matrix's gradient is one GEMM that writes it whole;
  // the biases and the output layer, summed over the examples, start from zero.
  for (size_t l = 0; l < cross_b_.size(); ++l) {
    std::fill_n(dense_grads + cross_b_[l], input_width_, 0.0f);
  }
  for (size_t l = 0; l < mlp_b_.size(); ++l) std::fill_n(dense_grads + mlp_b_[l], widths_[l], 0.0f);
  std::fill_n(dense_grads + out_w_, mlp_out_ + (parallel_ ? input_width_ : 0), 0.0f);
  // Output layer: d out / d w = the layer's input; d out / d input = w.
  const float* wo = in.dense + out_w_;
  float* gwo = dense_grads + out_w_;
  const float* top = widths_.empty() ? nullptr : b.act.back();
  const float* cross_out = cross_w_.empty() ? b.x0 : b.cross_x.back();
  std::fill(b.grad_x0, b.grad_x0 + size_t(n) * D, 0.0f);
  // d loss / d x_L, the cross output (grad_b), when there are cross layers; without them the
  // cross output is x0 itself.
  float* cross_grad = cross_w_.empty() ? b.grad_x0 : b.grad_b;
  if (!cross_w_.empty()) std::fill(cross_grad, cross_grad + size_t(n) * D, 0.0f);
  // The MLP reads x0 (parallel, or no cross layers) or the cross output (stacked).
  const bool mlp_on_x0 = parallel_ || cross_w_.empty();
  const float* mlp_in = mlp_on_x0 ? b.x0 : cross_out;
  float* mlp_in_grad = mlp_on_x0 ? b.grad_x0 : cross_grad;
  if (widths_.empty()) {
    for (int e = 0; e < n && mlp_out_ > 0; ++e) {  // the output layer reads the MLP's input
      for (int j = 0; j < mlp_out_; ++j) {
        gwo[j] += dl[e] * mlp_in[size_t(e) * mlp_out_ + j];
        mlp_in_grad[size_t(e) * mlp_out_ + j] += dl[e] * wo[j];
      }
    }
  } else {
    // d loss / d h_L into grad_a, then down through the layers (grad_c as the spare).
    const int w = widths_.back();
    float* g = b.grad_a;
    dense::OutputLayerBackward(n, w, dl.data(), top, wo, gwo, g);
    float* spare = b.grad_c;
    for (int l = static_cast<int>(widths_.size()) - 1; l >= 0; --l) {
      const int wl = widths_[l];
      const int in_width = l == 0 ? D : widths_[l - 1];
      const float* a = b.act[l];
      // Through dropout and ReLU: the activation is 0 exactly where either cut the unit.
      dense::ReluBackward(int64_t{n} * wl, a, spec_.dropout > 0 ? b.mask[l] : nullptr, g);
      const float* h_in = l == 0 ? mlp_in : b.act[l - 1];
      dense::Gemm(true, false, wl, in_width, n, g, wl, h_in, in_width, /*accumulate=*/false,
                  dense_grads + mlp_w_[l], in_width);
      dense::AddColumnSums(n, wl, g, dense_grads + mlp_b_[l]);
      float* below = l == 0 ? mlp_in_grad : spare;
      if (l == 0) {
        dense::Gemm(false, false, n, in_width, wl, g, wl, in.dense + mlp_w_[l], in_width, true,
                    below, in_width);
      } else {
        dense::Gemm(false, false, n, in_width, wl, g, wl, in.dense + mlp_w_[l], in_width, false,
                    below, in_width);
        std::swap(g, spare);
      }
    }
  }
  if (parallel_) {
    for (int e = 0; e < n; ++e) {
      const float* xe = cross_out + size_t(e) * D;
      float* ge = cross_grad + size_t(e) * D;
      for (int j = 0; j < D; ++j) {
        gwo[mlp_out_ + j] += dl[e] * xe[j];
        ge[j] += dl[e] * wo[mlp_out_ + j];
      }
    }
  }
  // Cross layers, top down: with g = d loss / d x_{l+1} and u = x_l Cᵀ + c,
  // du = g ⊙ x0, dC += duᵀ x_l, dc += Σ du, d x0 += g ⊙ u, d x_l = du C + g.
  if (!cross_w_.empty()) {
    float* g = cross_grad;
    float* du = b.grad_a;
    for (int l = static_cast<int>(cross_w_.size()) - 1; l >= 0; --l) {
      const float* x_l = l == 0 ? b.x0 : b.cross_x[l - 1];
      const float* u = b.cross_u[l];
      float* gc = dense_grads + cross_b_[l];
      for (int e = 0; e < n; ++e) {
        const float* ge = g + size_t(e) * D;
        const float* x0e = b.x0 + size_t(e) * D;
        const float* ue = u + size_t(e) * D;
        float* due = du + size_t(e) * D;
        float* gx0 = b.grad_x0 + size_t(e) * D;
        for (int j = 0; j < D; ++j) {
          due[j] = ge[j] * x0e[j];
          gc[j] += due[j];
          gx0[j] += ge[j] * ue[j];
        }
      }
      dense::Gemm(true, false, D, D, n, du, D, x_l, D, /*accumulate=*/false,
                  dense_grads + cross_w_[l], D);
      // d x_l = du C + g, accumulated onto g in place.
      dense::Gemm(false, false, n, D, D, du, D, in.dense + cross_w_[l], D, true, g, D);
    }
    for (size_t i = 0; i < size_t(n) * D; ++i) b.grad_x0[i] += g[i];
  }
  // Rows: each feature's embedding gets its value times its field's pooled gradient; the linear
  // weight and the FM part as in FmModel.
  const uint32_t* offsets = block.offsets().data();
  const uint32_t* fields = block.fields().data();
  const float* values = block.values().data();
  const uint32_t last_field = static_cast<uint32_t>(fields_ - 1);
  const float* const* rows = in.rows;
  float* out = row_grads;
  for (int e = 0; e < n; ++e) {
    const uint32_t begin = offsets[in.begin + e], end = offsets[in.begin + e + 1];
    const float* gx = b.grad_x0 + size_t(e) * D;
    const float* sums = fm_ ? b.fm_sums + size_t(e) * d : nullptr;
    for (uint32_t i = begin; i < end; ++i, ++rows, out += dim_) {
      const float v = values[i];
      const uint32_t f = std::min(fields[i], last_field);
      float scale = v;
      if (spec_.pooling == Pooling::kMean) {
        const float c = b.field_count[e * fields_ + f];
        if (c > 1) scale /= c;
      }
      out[0] = linear_ ? dl[e] * v : 0.0f;
      const float* gf = gx + size_t(f) * d;
      const float* emb = *rows + 1;
      for (int j = 0; j < d; ++j) out[1 + j] = scale * gf[j];
      if (fm_) {
        for (int j = 0; j < d; ++j) out[1 + j] += dl[e] * v * (sums[j] - emb[j] * v);
      }
    }
  }
  return bias_grad;
}

}  // namespace parasol
