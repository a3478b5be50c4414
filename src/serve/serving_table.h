// A served version's sparse rows in the precision the server was asked for (`parasol serve
// --quantize fp16|int8`, row_codec.h): the rows scoring reads (RowSource, decoded on the way),
// raw embedding lookups (answered as decoded floats) and in-place delta updates
// (copy-on-write, as SparseTable::Replace). fp32 keeps the loaded table itself, no copy.
// Thread-safety: const methods from any number of threads; Replace from one thread at a time,
// concurrently with the const methods.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/types/span.h"
#include "model/sparse_table.h"
#include "predict/predictor.h"
#include "serve/row_codec.h"

namespace parasol {

class ServingTable : public RowSource {
 public:
  // Takes `table` (rows starting with `dim` weights, nothing after them: a model loaded
  // without optimizer state). fp32 keeps it; fp16 and int8 encode every row into a new table
  // and free `table`.
  ServingTable(std::unique_ptr<SparseTable> table, int dim, RowPrecision precision);

  RowPrecision precision() const { return codec_.precision(); }
  int dim() const { return codec_.dim(); }

  float Bias() const override { return bias_.load(std::memory_order_relaxed); }
  void Gather(const uint64_t* keys, size_t n, const float** rows,
              std::vector<float>* scratch) const override;

  // Decoded rows for keys: values gets keys.size() * dim() floats (row-major, zeros for an
  // absent key) and found[i] says whether keys[i] is in the table. Prefetched a few keys
  // ahead; no allocation per key.
  void Lookup(absl::Span<const uint64_t> keys, float* values, bool* found) const;

  // Gives `key` the weights `row` (dim() floats), encoded, published whole: a concurrent reader
  // sees the old row or the new one. The old row stays allocated (SparseTable::Replace).
  void Replace(uint64_t key, const float* row);

  size_t rows() const { return table_->size(); }
  // Memory held by the stored rows and the index.
  size_t bytes() const { return table_->bytes(); }
  // Bytes of one stored row (before padding to 4-byte words): 4, 2 or 1 per weight, +8 for
  // int8's scale and offset.
  int row_payload_bytes() const { return codec_.payload_bytes(); }

 private:
  const RowCodec codec_;
  std::unique_ptr<SparseTable> table_;  // rows of codec_.words() words
  // Row kBiasKey's first weight, kept in fp32 whatever the precision (as the dense layers).
  std::atomic<float> bias_{0.0f};
  const std::vector<float> zeros_;
};

}  // namespace parasol
