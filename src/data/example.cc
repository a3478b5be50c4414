#include "data/example.h"

namespace parasol {

void ExampleBlock::Append(const ExampleBlock& other) {
  const uint32_t base = offsets_.back();
  labels_.insert(labels_.end(), other.labels_.begin(), other.labels_.end());
  for (size_t i = 1; i < other.offsets_.size(); ++i) offsets_.push_back(base + other.offsets_[i]);
  keys_.insert(keys_.end(), other.keys_.begin(), other.keys_.end());
  fields_.insert(fields_.end(), other.fields_.begin(), other.fields_.end());
  values_.insert(values_.end(), other.values_.begin(), other.values_.end());
}

}  // namespace parasol
