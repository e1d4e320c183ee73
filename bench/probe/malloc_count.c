// An LD_PRELOAD allocation counter for the server: counts calls to malloc, calloc, realloc,
// posix_memalign and aligned_alloc, and every 100 ms writes the total to $MALLOC_COUNT_FILE (default
// /tmp/malloc_count.PID). A benchmark reads it before and after a step to get allocations per delivered
// message. Build: gcc -O2 -shared -fPIC -o malloc_count.so malloc_count.c -lpthread
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static atomic_ulong allocations;

void *malloc(size_t size) { atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed); return __libc_malloc(size); }
void *calloc(size_t n, size_t size) { atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed); return __libc_calloc(n, size); }
void *realloc(void *p, size_t size) { atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed); return __libc_realloc(p, size); }
int posix_memalign(void **out, size_t alignment, size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    void *p = __libc_memalign(alignment, size);
    if (!p) return 12; /* ENOMEM */
    *out = p;
    return 0;
}
void *aligned_alloc(size_t alignment, size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    return __libc_memalign(alignment, size);
}

static void *reporter(void *unused) {
    (void)unused;
    char path[256];
    const char *configured = getenv("MALLOC_COUNT_FILE");
    if (configured) snprintf(path, sizeof path, "%s", configured);
    else snprintf(path, sizeof path, "/tmp/malloc_count.%d", (int)getpid());
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    for (;;) {
        char line[32];
        int length = snprintf(line, sizeof line, "%lu\n", atomic_load(&allocations));
        FILE *file = fopen(tmp, "w");
        if (file) { fwrite(line, 1, (size_t)length, file); fclose(file); rename(tmp, path); }
        usleep(100000);
    }
    return NULL;
}

__attribute__((constructor)) static void start_reporter(void) {
    pthread_t thread;
    pthread_create(&thread, NULL, reporter, NULL);
    pthread_detach(thread);
}
