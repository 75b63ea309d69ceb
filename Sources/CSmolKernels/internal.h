// Shared internals of the C kernels (not part of the public header).
#ifndef SMOL_INTERNAL_H
#define SMOL_INTERNAL_H
#include <stddef.h>

static inline void smol_split(size_t total, int ith, int nth, size_t *begin, size_t *end) {
    size_t per = total / (size_t)nth, extra = total % (size_t)nth;
    size_t i = (size_t)ith;
    *begin = i * per + (i < extra ? i : extra);
    *end = *begin + per + (i < extra ? 1 : 0);
}

#include <stdatomic.h>

// Dynamic work sharing: threads claim [begin, end) chunks of `total` items from `next`
// until none are left, so a descheduled thread never holds up the others.
static inline int smol_claim(_Atomic size_t *next, size_t total, size_t chunk, size_t *begin, size_t *end) {
    size_t b = atomic_fetch_add_explicit(next, chunk, memory_order_relaxed);
    if (b >= total) return 0;
    *begin = b;
    *end = b + chunk < total ? b + chunk : total;
    return 1;
}

// Chunk size giving each of nth threads about `per_thread` claims.
static inline size_t smol_chunk(size_t total, int nth, size_t per_thread, size_t align) {
    size_t c = total / ((size_t)nth * per_thread);
    if (c < align) c = align;
    c = (c + align - 1) / align * align;
    return c;
}

#include "smol_kernels.h"

float smol_dot_f32(const float *a, const float *b, size_t n);
void smol_axpy_f32(float a, const float *x, float *y, size_t n);  // y += a*x

// AVX-512 paths (matvec_avx512.c), called only when smol_isa_active() >= SMOL_ISA_AVX512.
void smol_matvec_bf16_avx512(const uint16_t *W, const float *xe, const float *xo, float *y, size_t r0, size_t r1,
                             size_t cols);  // cols even; xe/xo: x de-interleaved
void smol_matvec_avx512(const void *W, smol_dtype dt, const float *x, float *y, size_t r0, size_t r1, size_t cols);
void smol_convert_avx512(const void *src, smol_dtype dt, float *dst, size_t n);
float smol_dot_avx512(const float *a, const float *b, size_t n);
void smol_axpy_avx512(float a, const float *x, float *y, size_t n);
#endif
