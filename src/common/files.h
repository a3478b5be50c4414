// Small file helpers shared by components. Thread-safe (stateless).
#pragma once

#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace parasol {

// The whole file, or nullopt when it cannot be opened.
inline std::optional<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace parasol
