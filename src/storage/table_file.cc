#include "storage/table_file.h"

#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace parasol {
namespace {

namespace fs = std::filesystem;

constexpr char kTableMagic[8] = {'P', 'S', 'L', 'T', 'A', 'B', 'L', 'E'};
constexpr uint32_t kTableVersion = 1;

struct TableHeader {
  char magic[8];
  uint32_t version;
  uint32_t dim;
  uint32_t state_dim;
  uint32_t reserved;
  uint64_t rows;
};
static_assert(sizeof(TableHeader) == 32);

// Writes bytes through a running checksum.
class ChecksumWriter {
 public:
  ChecksumWriter(std::FILE* f) : f_(f) { XXH3_64bits_reset(state_); }
  ~ChecksumWriter() { XXH3_freeState(state_); }
  bool Write(const void* data, size_t n) {
    if (n == 0) return true;  // an empty section (e.g. SGD's state) may have no buffer at all
    XXH3_64bits_update(state_, data, n);
    return std::fwrite(data, 1, n, f_) == n;
  }
  uint64_t digest() const { return XXH3_64bits_digest(state_); }

 private:
  std::FILE* f_;
  XXH3_state_t* state_ = XXH3_createState();
};

absl::Status WriteTableUnder(const std::string& path,
                             absl::Span<const std::pair<uint64_t, const float*>> rows, int dim,
                             int state_dim, const Optimizer* finalize, uint64_t steps,
                             uint64_t* checksum_out) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot create ", path, ": ", std::strerror(errno)));
  }
  std::vector<uint64_t> keys(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) keys[i] = rows[i].first;
  TableHeader header{};
  std::memcpy(header.magic, kTableMagic, sizeof(kTableMagic));
  header.version = kTableVersion;
  header.dim = dim;
  header.state_dim = state_dim;
  header.rows = keys.size();
  bool ok;
  {
    ChecksumWriter out(f);
    // Each section is assembled in memory and written (and checksummed) in one call.
    std::vector<float> weights(rows.size() * dim), state(rows.size() * state_dim);
    for (size_t i = 0; i < rows.size(); ++i) {
      const float* row = rows[i].second;
      if (finalize != nullptr) {
        finalize->Finalize(row, row + dim, dim, steps, weights.data() + i * dim);
      } else {
        std::memcpy(weights.data() + i * dim, row, sizeof(float) * dim);
      }
      if (state_dim > 0) {
        std::memcpy(state.data() + i * state_dim, row + dim, sizeof(float) * state_dim);
      }
    }
    ok = out.Write(&header, sizeof(header)) && out.Write(keys.data(), keys.size() * 8) &&
         out.Write(weights.data(), weights.size() * sizeof(float)) &&
         out.Write(state.data(), state.size() * sizeof(float));
    *checksum_out = out.digest();
  }
  ok = ok && std::fwrite(checksum_out, 8, 1, f) == 1;
  ok = (std::fflush(f) == 0) && ok;
  ok = (fsync(fileno(f)) == 0) && ok;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) {
    return absl::UnavailableError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

std::string ChecksumHex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

absl::StatusOr<TableFile> WriteTableFile(const std::string& path,
                                         absl::Span<const std::pair<uint64_t, const float*>> rows,
                                         int dim, int state_dim, const Optimizer* finalize,
                                         uint64_t steps) {
  for (size_t i = 1; i < rows.size(); ++i) {
    if (rows[i - 1].first >= rows[i].first) {
      return absl::InternalError(absl::StrCat(path, ": rows are not sorted by key"));
    }
  }
  const std::string tmp = path + ".tmp";
  TableFile out;
  RETURN_IF_ERROR(WriteTableUnder(tmp, rows, dim, state_dim, finalize, steps, &out.checksum));
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot rename ", tmp, ": ", ec.message()));
  out.file = fs::path(path).filename().string();
  out.rows = rows.size();
  return out;
}

absl::Status ReadTableFile(const std::string& path, int dim, int state_dim, uint64_t rows,
                           uint64_t checksum, bool with_state, SparseTable* table,
                           const std::function<bool(uint64_t)>& keep) {
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec) return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", ec.message()));
  const uint64_t expected = sizeof(TableHeader) + rows * (8 + 4ull * (dim + state_dim)) + 8;
  if (size != expected) {
    return absl::DataLossError(absl::StrCat(path, ": size ", size, " bytes, expected ", expected,
                                            " for ", rows, " rows (truncated or half-written)"));
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes(size);
  if (!in.read(bytes.data(), size)) {
    return absl::DataLossError(absl::StrCat(path, ": read failed"));
  }
  uint64_t stored;
  std::memcpy(&stored, bytes.data() + size - 8, 8);
  const uint64_t actual = XXH3_64bits(bytes.data(), size - 8);
  if (stored != actual || stored != checksum) {
    return absl::DataLossError(absl::StrCat(path, ": checksum mismatch (file ", ChecksumHex(actual),
                                            ", recorded ", ChecksumHex(stored), ", manifest ",
                                            ChecksumHex(checksum), ")"));
  }
  TableHeader header;
  std::memcpy(&header, bytes.data(), sizeof(header));
  if (std::memcmp(header.magic, kTableMagic, sizeof(kTableMagic)) != 0 ||
      header.version != kTableVersion || header.dim != static_cast<uint32_t>(dim) ||
      header.state_dim != static_cast<uint32_t>(state_dim) || header.rows != rows) {
    return absl::DataLossError(absl::StrCat(path, ": header does not match the manifest"));
  }
  const char* keys = bytes.data() + sizeof(TableHeader);
  const char* weights = keys + rows * 8;
  const char* state = weights + rows * 4 * dim;
  std::vector<float> row(table->row_floats());
  for (uint64_t i = 0; i < rows; ++i) {
    uint64_t key;
    std::memcpy(&key, keys + i * 8, 8);
    if (keep && !keep(key)) continue;
    std::memcpy(row.data(), weights + i * 4 * dim, 4 * dim);
    if (with_state) std::memcpy(row.data() + dim, state + i * 4 * state_dim, 4 * state_dim);
    table->Put(key, row.data());
  }
  return absl::OkStatus();
}

}  // namespace parasol
