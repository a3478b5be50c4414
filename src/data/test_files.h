// Test-only helpers for the data component's tests: temporary files, compressed fixtures and a
// fake RowEncoder. Not part of the library. Thread-safe (stateless apart from the files made).
#pragma once

#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/hash.h"
#include "data/example.h"
#include "data/row_encoder.h"
#include "gtest/gtest.h"

namespace parasol::testing {

// Paths handed out by TempPath(), removed (with any ".tmp" sibling) when the process exits.
class TempFiles {
 public:
  ~TempFiles() {
    for (const std::string& path : paths_) {
      std::remove(path.c_str());
      std::remove((path + ".tmp").c_str());
    }
  }
  std::string Make(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    paths_.push_back(absl::StrCat(::testing::TempDir(), "/parasol_data_", ::getpid(), "_",
                                  paths_.size(), "_", name));
    return paths_.back();
  }

 private:
  std::mutex mu_;
  std::vector<std::string> paths_;
};

// A fresh path under the test temp dir; `name` keeps messages readable.
inline std::string TempPath(const std::string& name) {
  static TempFiles files;
  return files.Make(name);
}

inline void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes `text` gzip-compressed with zlib's gzopen/gzwrite.
inline void WriteGzip(const std::string& path, const std::string& text) {
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr) << path;
  ASSERT_EQ(gzwrite(gz, text.data(), static_cast<unsigned>(text.size())),
            static_cast<int>(text.size()));
  ASSERT_EQ(gzclose(gz), Z_OK);
}

inline std::string ZstdCompress(const std::string& text) {
  std::string out(ZSTD_compressBound(text.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// Deterministic text that compresses but is not trivially repetitive.
inline std::string SampleText(int lines) {
  std::string text;
  for (int i = 0; i < lines; ++i) {
    absl::StrAppend(&text, i % 3 == 0 ? "1" : "0", " ", i % 97 + 1, ":1 ", 1000 + i * 7, ":0.5\n");
  }
  return text;
}

// A RowEncoder fake: the column named `label_column` gives the label ("1" → 1), every other
// non-empty column i gives feature FeatureKey(i, value) in field i with value 1. The value "BAD"
// is rejected with "column 'NAME': bad value 'BAD'".
class FakeRowEncoder : public RowEncoder {
 public:
  FakeRowEncoder(std::vector<std::string> names, std::string label_column)
      : names_(std::move(names)), label_column_(std::move(label_column)) {}

  absl::Status Encode(absl::Span<const std::string_view> columns,
                      ExampleBlock* out) const override {
    float label = 0;
    for (size_t i = 0; i < columns.size(); ++i) {
      if (columns[i] == "BAD") {
        out->AbandonExample();
        return absl::InvalidArgumentError(
            absl::StrCat("column '", names_[i], "': bad value 'BAD'"));
      }
      if (names_[i] == label_column_) {
        label = columns[i] == "1" ? 1.0f : 0.0f;
      } else if (!columns[i].empty()) {
        out->AddFeature(FeatureKey(static_cast<uint32_t>(i), columns[i]), static_cast<uint32_t>(i),
                        1.0f);
      }
    }
    out->FinishExample(label);
    return absl::OkStatus();
  }

 private:
  std::vector<std::string> names_;
  std::string label_column_;
};

// A factory for FakeRowEncoder that records the column names it was called with.
inline RowEncoderFactory FakeEncoderFactory(std::string label_column,
                                            std::vector<std::string>* seen_names = nullptr,
                                            int* calls = nullptr) {
  return [label_column, seen_names, calls](
             const std::vector<std::string>& names) -> absl::StatusOr<std::unique_ptr<RowEncoder>> {
    if (seen_names != nullptr) *seen_names = names;
    if (calls != nullptr) ++*calls;
    return std::make_unique<FakeRowEncoder>(names, label_column);
  };
}

// Everything an ExampleBlock holds, for equality checks.
struct BlockContents {
  std::vector<float> labels;
  std::vector<uint32_t> offsets;
  std::vector<uint64_t> keys;
  std::vector<uint32_t> fields;
  std::vector<float> values;
  bool operator==(const BlockContents&) const = default;
};

inline BlockContents Contents(const ExampleBlock& b) {
  return {b.labels(), b.offsets(), b.keys(), b.fields(), b.values()};
}

}  // namespace parasol::testing
