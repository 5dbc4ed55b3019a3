#ifndef FAQSYNC_MAPPING_GUARD_H
#define FAQSYNC_MAPPING_GUARD_H

#include <stddef.h>

/// Guards read-only file mappings against SIGBUS.
///
/// A file mapped with mmap that shrinks under the mapping (an operator's `cp` over the live
/// snapshot truncates it first) makes every read of a page beyond the new end raise SIGBUS, which
/// kills the process. For a fault inside a registered mapping, the handler maps a page of zeros
/// over the faulting page (the read is retried and sees zeros) and marks the mapping faulted; the
/// reader then discards what it computed and reloads. Faults anywhere else go to the handler that
/// was installed before (or the default action), as if this one were not there.
///
/// Returns a slot (>= 0) to pass to the functions below, or -1 when no slot is free or the
/// handler could not be installed (the mapping then works unguarded, as before).
int faqsync_mapping_guard_register(const void *start, size_t length);

/// Forgets a slot; call before unmapping its range.
void faqsync_mapping_guard_unregister(int slot);

/// 1 when a read inside the slot's mapping faulted since it was registered, else 0.
int faqsync_mapping_guard_faulted(int slot);

#endif
