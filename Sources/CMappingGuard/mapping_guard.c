#define _GNU_SOURCE
#include "mapping_guard.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

// Process-wide by nature: a signal handler has no context but globals. Everything the handler
// touches is a lock-free atomic, and it calls only mmap (a plain system call) and sigaction.

enum { SLOT_COUNT = 256 };

struct guarded_mapping {
    _Atomic(uintptr_t) start;   // 0 when the slot is free
    _Atomic(uintptr_t) end;
    atomic_int faulted;
};

static struct guarded_mapping slots[SLOT_COUNT];
static struct sigaction previous_action;
static uintptr_t page_size;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static atomic_int installed;

static void pass_on(int signal_number, siginfo_t *info, void *context) {
    if ((previous_action.sa_flags & SA_SIGINFO) && previous_action.sa_sigaction != NULL) {
        previous_action.sa_sigaction(signal_number, info, context);
        return;
    }
    if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN && previous_action.sa_handler != NULL) {
        previous_action.sa_handler(signal_number);
        return;
    }
    // The default action: restore it; the faulting instruction runs again and the process stops
    // with SIGBUS and its core, as it would have without this handler.
    struct sigaction default_action;
    memset(&default_action, 0, sizeof default_action);
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    sigaction(signal_number, &default_action, NULL);
}

static void on_sigbus(int signal_number, siginfo_t *info, void *context) {
    uintptr_t address = (uintptr_t)info->si_addr;
    for (int index = 0; index < SLOT_COUNT; index++) {
        uintptr_t start = atomic_load(&slots[index].start);
        if (start == 0 || address < start || address >= atomic_load(&slots[index].end)) continue;
        uintptr_t page = address & ~(page_size - 1);
        void *zeros = mmap((void *)page, page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (zeros == MAP_FAILED) break;
        atomic_store(&slots[index].faulted, 1);
        return;
    }
    pass_on(signal_number, info, context);
}

static void install(void) {
    long size = sysconf(_SC_PAGESIZE);
    if (size <= 0) return;
    page_size = (uintptr_t)size;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_sigbus;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGBUS, &action, &previous_action) == 0) atomic_store(&installed, 1);
}

int faqsync_mapping_guard_register(const void *start, size_t length) {
    if (start == NULL || length == 0) return -1;
    pthread_once(&install_once, install);
    if (!atomic_load(&installed)) return -1;
    for (int index = 0; index < SLOT_COUNT; index++) {
        uintptr_t expected = 0;
        // Claim the slot with a sentinel start no address can fall into, fill it, then publish.
        if (!atomic_compare_exchange_strong(&slots[index].start, &expected, UINTPTR_MAX)) continue;
        atomic_store(&slots[index].faulted, 0);
        atomic_store(&slots[index].end, (uintptr_t)start + length);
        atomic_store(&slots[index].start, (uintptr_t)start);
        return index;
    }
    return -1;
}

void faqsync_mapping_guard_unregister(int slot) {
    if (slot < 0 || slot >= SLOT_COUNT) return;
    atomic_store(&slots[slot].end, 0);
    atomic_store(&slots[slot].start, 0);
}

int faqsync_mapping_guard_faulted(int slot) {
    if (slot < 0 || slot >= SLOT_COUNT) return 0;
    return atomic_load(&slots[slot].faulted);
}
