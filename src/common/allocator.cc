#include "common/allocator.h"

#include <malloc.h>

#include <climits>

namespace parasol {

void KeepLargeBuffersMapped() {
  // Fixing either threshold turns off glibc's dynamic adjustment of both, which is what we want:
  // request-sized blocks stay in the heap, and a heap top is trimmed only beyond 2 GiB free.
  // 32 MiB is the most glibc accepts for the mmap threshold on 64-bit hosts.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
}

}  // namespace parasol
