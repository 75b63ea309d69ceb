// Compute roof of this CPU: register-only loops of independent multiply-adds, on 1..N threads.
// Prints GFLOP/s (GOP/s for int8) for each instruction the CPU has, as JSON lines:
//   {"instr": "vdpbf16ps zmm", "threads": 2, "gflops": 431.0}
// f32 FMA counts 2 flops per lane; vdpbf16ps 4 per f32 lane (two products, two adds);
// vpdpbusd 8 ops per i32 lane (four products, four adds).
//   cc -O2 -pthread Benchmarks/roof.c -o roof && ./roof [threads]
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

enum { ITERS = 20000000, CHAINS = 12 };

#define LOOP(TYPE, ZERO, OP)                                                      \
    TYPE acc[CHAINS];                                                             \
    for (int i = 0; i < CHAINS; i++) acc[i] = ZERO;                               \
    for (long it = 0; it < ITERS; it++) {                                         \
        for (int i = 0; i < CHAINS; i++) acc[i] = OP;                             \
        __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]), \
                         "+v"(acc[4]), "+v"(acc[5]), "+v"(acc[6]), "+v"(acc[7]),    \
                         "+v"(acc[8]), "+v"(acc[9]), "+v"(acc[10]), "+v"(acc[11])); \
    }                                                                             \
    TYPE s = acc[0];                                                              \
    for (int i = 1; i < CHAINS; i++) s = s + acc[i];                              \
    volatile TYPE sink = s; (void)sink;

__attribute__((target("avx512f"))) static void *run_fma(void *p) {
    (void)p;
    __m512 a = _mm512_set1_ps(1.0001f), b = _mm512_set1_ps(0.9999f);
    __asm__ volatile("" : "+v"(a), "+v"(b));
    LOOP(__m512, _mm512_setzero_ps(), _mm512_fmadd_ps(a, b, acc[i]))
    return NULL;
}

__attribute__((target("avx2,fma"))) static void *run_fma256(void *p) {
    (void)p;
    __m256 a = _mm256_set1_ps(1.0001f), b = _mm256_set1_ps(0.9999f);
    __asm__ volatile("" : "+v"(a), "+v"(b));
    LOOP(__m256, _mm256_setzero_ps(), _mm256_fmadd_ps(a, b, acc[i]))
    return NULL;
}

__attribute__((target("avx512f,avx512bf16"))) static void *run_bf16(void *p) {
    (void)p;
    __m512bh a = (__m512bh)_mm512_set1_epi32(0x3f803f80), b = (__m512bh)_mm512_set1_epi32(0x3f803f80);
    __asm__ volatile("" : "+v"(a), "+v"(b));
    LOOP(__m512, _mm512_setzero_ps(), _mm512_dpbf16_ps(acc[i], a, b))
    return NULL;
}

__attribute__((target("avx512f,avx512vnni"))) static void *run_vnni(void *p) {
    (void)p;
    __m512i a = _mm512_set1_epi8(1), b = _mm512_set1_epi8(1);
    __asm__ volatile("" : "+v"(a), "+v"(b));
    LOOP(__m512i, _mm512_setzero_si512(), _mm512_dpbusd_epi32(acc[i], a, b))
    return NULL;
}

static double measure(void *(*fn)(void *), int threads, double ops_per_instr) {
    pthread_t t[64];
    double t0 = now();
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, fn, NULL);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    double dt = now() - t0;
    return (double)ITERS * CHAINS * ops_per_instr * threads / dt / 1e9;
}

int main(int argc, char **argv) {
    int maxth = argc > 1 ? atoi(argv[1]) : 2;
    if (maxth < 1 || maxth > 64) maxth = 2;
    __builtin_cpu_init();
    struct { const char *name; void *(*fn)(void *); double ops; int ok; } rows[] = {
        {"vfmadd231ps ymm (f32)", run_fma256, 16, __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")},
        {"vfmadd231ps zmm (f32)", run_fma, 32, __builtin_cpu_supports("avx512f")},
        {"vdpbf16ps zmm (bf16)", run_bf16, 64, __builtin_cpu_supports("avx512bf16")},
        {"vpdpbusd zmm (int8)", run_vnni, 128, __builtin_cpu_supports("avx512vnni")},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        if (!rows[r].ok) continue;
        for (int th = 1; th <= maxth; th++) {
            double best = 0;
            for (int rep = 0; rep < 3; rep++) {
                double g = measure(rows[r].fn, th, rows[r].ops);
                if (g > best) best = g;
            }
            printf("{\"instr\": \"%s\", \"threads\": %d, \"gflops\": %.1f}\n", rows[r].name, th, best);
        }
    }
    return 0;
}
