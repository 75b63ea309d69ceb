// Memory read bandwidth with 1..N threads: each thread sums its slice of one big array.
// Decode speed of a bf16 model is bounded by (weight bytes per token) / (this bandwidth).
//
//   clang -O3 -march=native -pthread Benchmarks/membw.c -o /work/bench-work/membw
//   /work/bench-work/membw [GiB=2] [max threads=all cpus] [repeats=5]
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct { const uint64_t *p; size_t n; uint64_t sum; } job_t;

static void *reader(void *arg) {
    job_t *j = arg;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= j->n; i += 4) {
        s0 += j->p[i]; s1 += j->p[i + 1]; s2 += j->p[i + 2]; s3 += j->p[i + 3];
    }
    for (; i < j->n; i++) s0 += j->p[i];
    j->sum = s0 + s1 + s2 + s3;
    return NULL;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    double gib = argc > 1 ? atof(argv[1]) : 2.0;
    int maxt = argc > 2 ? atoi(argv[2]) : (int)sysconf(_SC_NPROCESSORS_ONLN);
    int reps = argc > 3 ? atoi(argv[3]) : 5;
    size_t bytes = (size_t)(gib * (1u << 30));
    size_t n = bytes / 8;
    uint64_t *a = aligned_alloc(64, n * 8);
    if (!a) { perror("alloc"); return 1; }
    for (size_t i = 0; i < n; i++) a[i] = i;  // touch every page
    uint64_t check = 0;
    for (int t = 1; t <= maxt; t++) {
        double best = 0, total = 0;
        for (int r = 0; r < reps; r++) {
            pthread_t th[256];
            job_t jobs[256];
            size_t per = n / t;
            double t0 = now();
            for (int k = 0; k < t; k++) {
                jobs[k].p = a + k * per;
                jobs[k].n = k == t - 1 ? n - k * per : per;
                pthread_create(&th[k], NULL, reader, &jobs[k]);
            }
            for (int k = 0; k < t; k++) { pthread_join(th[k], NULL); check += jobs[k].sum; }
            double gbs = bytes / (now() - t0) / 1e9;
            total += gbs;
            if (gbs > best) best = gbs;
        }
        printf("read %.1f GiB, %d thread%s: best %.2f GB/s, mean %.2f GB/s (%d repeats)\n",
               gib, t, t == 1 ? " " : "s", best, total / reps, reps);
    }
    fprintf(stderr, "(checksum %llu)\n", (unsigned long long)check);
    free(a);
    return 0;
}
