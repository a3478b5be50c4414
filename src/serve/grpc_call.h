// What both gRPC schemas of the model server share (grpc_service.cc for Parasol's,
// tf_grpc_service.cc for TF Serving's): their ModelSpec → the VersionSelector the shared call
// path (serving_core.h) resolves. Internal to serve/. Stateless; thread-safe.
#pragma once

#include <cstdint>

#include "serve/served_model.h"
#include "wire/grpc_status.h"

namespace parasol {

// The version a request's ModelSpec asks for (Parasol's and TF Serving's ModelSpec both have a
// version_choice oneof of version / version_label); `version` is the number when it is set.
template <typename Spec>
VersionSelector SelectorOf(const Spec& spec, int64_t version) {
  VersionSelector s;
  if (spec.version_choice_case() == Spec::kVersion) {
    s.kind = VersionSelector::Kind::kVersion;
    s.version = version;
  } else if (spec.version_choice_case() == Spec::kVersionLabel) {
    s.kind = VersionSelector::Kind::kLabel;
    s.label = spec.version_label();
  }
  return s;
}

}  // namespace parasol
