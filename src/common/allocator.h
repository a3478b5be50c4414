// Process-wide allocator tuning for processes that move large messages (parameter servers and
// their workers): a pull or push of 100K keys allocates and frees buffers of megabytes per
// request; glibc would map and unmap each (and trim freed heap tops with madvise), so every
// request paid page faults to zero fresh pages. Measured with perf on `bench/ps_bench`: ~15% of
// both processes' cycles in exc_page_fault / clear_page / madvise.
#pragma once

namespace parasol {

// Keeps freed blocks of up to 32 MiB (a 1M-key pull of 8 floats) in the heap for reuse instead of
// returning them to the kernel at once. Call once, early, from main-like code; idempotent.
void KeepLargeBuffersMapped();

}  // namespace parasol
