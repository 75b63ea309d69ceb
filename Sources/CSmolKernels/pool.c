// A small persistent thread pool. Decode issues a few hundred short parallel jobs per token,
// so dispatch must cost microseconds: workers spin on a generation counter for a short
// while, then sleep on a condition variable so they never compete with OpenBLAS threads.
#define _GNU_SOURCE
#include "smol_kernels.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define SMOL_PAUSE() _mm_pause()
#else
#define SMOL_PAUSE() ((void)0)
#endif

struct smol_pool {
    int n;
    pthread_t *threads;
    _Atomic unsigned long generation;
    _Atomic int remaining;
    _Atomic int stop;
    smol_task_fn fn;
    void *ctx;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_mutex_t run_mu;  // one job at a time when several callers share a pool
};

typedef struct {
    smol_pool *pool;
    int index;
} worker_arg;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *worker_main(void *p) {
    worker_arg arg = *(worker_arg *)p;
    free(p);
    smol_pool *pool = arg.pool;
    smol_flush_denormals();
    unsigned long seen = 0;
    for (;;) {
        // Spin up to ~1 ms for the next job, then sleep.
        double deadline = 0;
        unsigned spins = 0;
        while (atomic_load_explicit(&pool->generation, memory_order_acquire) == seen &&
               !atomic_load_explicit(&pool->stop, memory_order_acquire)) {
            SMOL_PAUSE();
            if ((++spins & 1023) == 0) {
                double t = now_seconds();
                if (deadline == 0) deadline = t + 1e-3;
                else if (t > deadline) {
                    pthread_mutex_lock(&pool->mu);
                    while (atomic_load(&pool->generation) == seen && !atomic_load(&pool->stop))
                        pthread_cond_wait(&pool->cv, &pool->mu);
                    pthread_mutex_unlock(&pool->mu);
                }
            }
        }
        if (atomic_load(&pool->stop)) break;
        seen = atomic_load_explicit(&pool->generation, memory_order_acquire);
        pool->fn(pool->ctx, arg.index, pool->n);
        atomic_fetch_sub_explicit(&pool->remaining, 1, memory_order_acq_rel);
    }
    return NULL;
}

smol_pool *smol_pool_create(int nthreads) {
    if (nthreads < 1) nthreads = 1;
    if (nthreads > 256) nthreads = 256;
    smol_pool *pool = calloc(1, sizeof(smol_pool));
    if (!pool) return NULL;
    pool->n = nthreads;
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->cv, NULL);
    pthread_mutex_init(&pool->run_mu, NULL);
    pool->threads = calloc((size_t)nthreads, sizeof(pthread_t));
    if (!pool->threads) { free(pool); return NULL; }
    for (int i = 1; i < nthreads; i++) {
        worker_arg *arg = malloc(sizeof(worker_arg));
        if (!arg) { pool->n = i; break; }
        arg->pool = pool;
        arg->index = i;
        if (pthread_create(&pool->threads[i], NULL, worker_main, arg) != 0) {
            free(arg);
            pool->n = i;  // run with the threads we got
            break;
        }
    }
    return pool;
}

void smol_pool_destroy(smol_pool *pool) {
    if (!pool) return;
    atomic_store(&pool->stop, 1);
    pthread_mutex_lock(&pool->mu);
    pthread_cond_broadcast(&pool->cv);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 1; i < pool->n; i++) pthread_join(pool->threads[i], NULL);
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->cv);
    pthread_mutex_destroy(&pool->run_mu);
    free(pool->threads);
    free(pool);
}

int smol_pool_size(const smol_pool *pool) { return pool ? pool->n : 1; }

// The caller's thread computes too: flush denormals for the job only, so the caller's own
// floating-point environment is left as it was.
static inline unsigned save_and_flush(void) {
#if defined(__x86_64__)
    unsigned saved = _mm_getcsr();
    _mm_setcsr(saved | 0x8040);
    return saved;
#else
    return 0;
#endif
}

static inline void restore_fp(unsigned saved) {
#if defined(__x86_64__)
    _mm_setcsr(saved);
#else
    (void)saved;
#endif
}

void smol_pool_run(smol_pool *pool, smol_task_fn fn, void *ctx) {
    unsigned saved = save_and_flush();
    if (!pool || pool->n == 1) {
        fn(ctx, 0, 1);
        restore_fp(saved);
        return;
    }
    pthread_mutex_lock(&pool->run_mu);
    pool->fn = fn;
    pool->ctx = ctx;
    atomic_store_explicit(&pool->remaining, pool->n - 1, memory_order_release);
    pthread_mutex_lock(&pool->mu);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_acq_rel);
    pthread_cond_broadcast(&pool->cv);
    pthread_mutex_unlock(&pool->mu);
    fn(ctx, 0, pool->n);
    while (atomic_load_explicit(&pool->remaining, memory_order_acquire) > 0) SMOL_PAUSE();
    pthread_mutex_unlock(&pool->run_mu);
    restore_fp(saved);
}
