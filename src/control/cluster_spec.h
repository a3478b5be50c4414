// The cluster spec handed to each replica of a distributed job (TF_CONFIG and PARASOL_CLUSTER)
// is one type shared with its readers in ps/: it lives in common/cluster_spec.h. This header
// keeps the control plane's includes working; new code includes common/cluster_spec.h.
#pragma once

#include "common/cluster_spec.h"
