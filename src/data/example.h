// Parsed examples, stored column-wise in blocks so that readers, the binary cache and learners
// move whole blocks without per-example allocation. Not thread-safe; a block has one owner.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace parasol {

// A view of one example inside an ExampleBlock. Valid while the block is alive and unchanged.
struct ExampleView {
  float label;  // 0 or 1
  uint32_t size;
  const uint64_t* keys;
  const uint32_t* fields;
  const float* values;
};

// Examples i = 0..size()-1; example i owns features [offsets[i], offsets[i+1]).
class ExampleBlock {
 public:
  ExampleBlock() { offsets_.push_back(0); }

  size_t size() const { return labels_.size(); }
  bool empty() const { return labels_.empty(); }
  size_t num_features() const { return keys_.size(); }

  ExampleView example(size_t i) const {
    const uint32_t begin = offsets_[i];
    return {labels_[i], offsets_[i + 1] - begin, keys_.data() + begin, fields_.data() + begin,
            values_.data() + begin};
  }

  // Appends a feature to the example being built; FinishExample() closes it.
  void AddFeature(uint64_t key, uint32_t field, float value) {
    keys_.push_back(key);
    fields_.push_back(field);
    values_.push_back(value);
  }
  void FinishExample(float label) {
    labels_.push_back(label);
    offsets_.push_back(static_cast<uint32_t>(keys_.size()));
  }
  // Drops the features added since the last FinishExample() (a line that turned out malformed).
  void AbandonExample() {
    const uint32_t begin = offsets_.back();
    keys_.resize(begin);
    fields_.resize(begin);
    values_.resize(begin);
  }
  void Clear() {
    labels_.clear();
    offsets_.assign(1, 0);
    keys_.clear();
    fields_.clear();
    values_.clear();
  }
  void Append(const ExampleBlock& other);
  // Reserves room for `examples` more examples with `features` features in all.
  void Reserve(size_t examples, size_t features) {
    labels_.reserve(labels_.size() + examples);
    offsets_.reserve(offsets_.size() + examples);
    keys_.reserve(keys_.size() + features);
    fields_.reserve(fields_.size() + features);
    values_.reserve(values_.size() + features);
  }

  const std::vector<float>& labels() const { return labels_; }
  const std::vector<uint32_t>& offsets() const { return offsets_; }
  const std::vector<uint64_t>& keys() const { return keys_; }
  const std::vector<uint32_t>& fields() const { return fields_; }
  const std::vector<float>& values() const { return values_; }

  // Mutable access for the binary cache reader, which fills all columns at once.
  std::vector<float>* mutable_labels() { return &labels_; }
  std::vector<uint32_t>* mutable_offsets() { return &offsets_; }
  std::vector<uint64_t>* mutable_keys() { return &keys_; }
  std::vector<uint32_t>* mutable_fields() { return &fields_; }
  std::vector<float>* mutable_values() { return &values_; }

 private:
  std::vector<float> labels_;
  std::vector<uint32_t> offsets_;
  std::vector<uint64_t> keys_;
  std::vector<uint32_t> fields_;
  std::vector<float> values_;
};

}  // namespace parasol
