// A small persistent thread pool. Decode issues a few hundred short parallel jobs per token,
// so dispatch must cost microseconds: workers spin on a job counter for a short while, then
// sleep on a condition variable so they never compete with other work for long.
//
// Robust under load: tasks claim work in chunks from a shared counter (smol_claim), so any
// subset of threads can finish a job. The caller works too, then closes the job; a worker that
// wakes after that skips it instead of making the caller wait for a descheduled thread.
#define _GNU_SOURCE
#include "smol_kernels.h"
#include "internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define SMOL_PAUSE() _mm_pause()
#else
#define SMOL_PAUSE() ((void)0)
#endif

// state: bits 0-15 workers inside the job, bit 16 closed, bits 17+ job generation.
#define ACTIVE_MASK 0xFFFFull
#define CLOSED_BIT (1ull << 16)
#define GEN_SHIFT 17

struct smol_pool {
    int n;
    pthread_t *threads;
    _Atomic uint64_t state;
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

static inline uint64_t gen_of(uint64_t s) { return s >> GEN_SHIFT; }

static void *worker_main(void *p) {
    worker_arg arg = *(worker_arg *)p;
    free(p);
    smol_pool *pool = arg.pool;
    smol_flush_denormals();
    uint64_t seen = 0;
    for (;;) {
        // Spin up to ~0.3 ms for the next job (yielding, so an oversubscribed core goes to
        // whoever needs it), then sleep.
        double deadline = 0;
        unsigned spins = 0;
        while (gen_of(atomic_load_explicit(&pool->state, memory_order_acquire)) == seen &&
               !atomic_load_explicit(&pool->stop, memory_order_acquire)) {
            SMOL_PAUSE();
            if ((++spins & 255) == 0) {
                sched_yield();
                double t = now_seconds();
                if (deadline == 0) deadline = t + 3e-4;
                else if (t > deadline) {
                    pthread_mutex_lock(&pool->mu);
                    while (gen_of(atomic_load(&pool->state)) == seen && !atomic_load(&pool->stop))
                        pthread_cond_wait(&pool->cv, &pool->mu);
                    pthread_mutex_unlock(&pool->mu);
                }
            }
        }
        if (atomic_load(&pool->stop)) break;
        uint64_t s = atomic_load_explicit(&pool->state, memory_order_acquire);
        seen = gen_of(s);
        // Join unless the caller already closed this job.
        int joined = 0;
        while (gen_of(s) == seen && !(s & CLOSED_BIT)) {
            if (atomic_compare_exchange_weak_explicit(&pool->state, &s, s + 1, memory_order_acq_rel,
                                                      memory_order_acquire)) {
                joined = 1;
                break;
            }
        }
        if (!joined) continue;
        pool->fn(pool->ctx, arg.index, pool->n);
        atomic_fetch_sub_explicit(&pool->state, 1, memory_order_acq_rel);
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
    uint64_t gen = gen_of(atomic_load(&pool->state)) + 1;
    pthread_mutex_lock(&pool->mu);
    atomic_store_explicit(&pool->state, gen << GEN_SHIFT, memory_order_release);
    pthread_cond_broadcast(&pool->cv);
    pthread_mutex_unlock(&pool->mu);
    fn(ctx, 0, pool->n);
    // Close the job, then wait only for workers that joined it (they are running).
    uint64_t s = atomic_fetch_or_explicit(&pool->state, CLOSED_BIT, memory_order_acq_rel) | CLOSED_BIT;
    unsigned spins = 0;
    while ((s & ACTIVE_MASK) != 0) {
        SMOL_PAUSE();
        if ((++spins & 255) == 0) sched_yield();
        s = atomic_load_explicit(&pool->state, memory_order_acquire);
    }
    pthread_mutex_unlock(&pool->run_mu);
    restore_fp(saved);
}
