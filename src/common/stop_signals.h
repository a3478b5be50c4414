// SIGINT and SIGTERM as something to wait for. Handlers, installed process-wide, write the
// signal's number to a pipe, so a stop is seen whichever thread the kernel delivers it to. The
// usual alternative — block the signals, then sigwait — misses threads that libraries start
// before main() with nothing blocked (OpenBLAS's pool starts when the library loads): the kernel
// may hand the signal to one of those, where its default action kills the process uncleanly.
// Thread-safe; Install before starting work that a stop should end.
#pragma once

namespace parasol::stop_signals {

// Installs the handlers (idempotent). SIGPIPE is ignored too: a peer that hangs up must not
// kill a server writing to it.
void Install();
// Blocks until SIGINT or SIGTERM arrives (or Raise is called) and returns its number; a signal
// that arrived before the call is returned at once.
int Wait();
// Wakes Wait() as if `signal` had arrived (a process that decides to stop by itself).
void Raise(int signal);

}  // namespace parasol::stop_signals
