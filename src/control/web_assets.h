// The web dashboard's static files (src/control/web), compiled into the binary at build time so
// the service needs no files at run time. Thread-safe (immutable).
#pragma once

#include <string_view>
#include <vector>

namespace parasol::control {

struct WebAsset {
  std::string_view path;  // "/index.html"
  std::string_view content_type;
  std::string_view body;
};

const std::vector<WebAsset>& WebAssets();

// The asset served at `path` ("/" is "/index.html"); nullptr when there is none.
inline const WebAsset* FindWebAsset(std::string_view path) {
  if (path == "/") path = "/index.html";
  for (const auto& asset : WebAssets()) {
    if (asset.path == path) return &asset;
  }
  return nullptr;
}

}  // namespace parasol::control
