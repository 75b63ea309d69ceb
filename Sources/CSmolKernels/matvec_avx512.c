// AVX-512 matrix-vector products for decode: bf16 / f16 / f32 weights read in their stored
// precision, f32 accumulation. Decode is memory-bound, so the aim is the bandwidth wall: four
// rows per pass share each load of x, two independent FMA chains per row, the next four rows
// prefetched while these run, and masked loads for the last partial block (no scalar tail).
#include "smol_kernels.h"
#include "internal.h"

#include <stdlib.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512_FN __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,f16c")))

static inline __mmask16 tail_mask16(size_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

// Prefetch `bytes` bytes of the next rows block, spread over the column loop.
#define PREFETCH_NEXT(next, end, off, lines)                                                  \
    for (size_t l_ = 0; l_ < (lines); l_++) {                                                 \
        const char *pf_ = (next) + (off) + l_ * 64;                                           \
        if (pf_ < (end)) _mm_prefetch(pf_, _MM_HINT_T0);                                      \
    }

// bf16, cols even: a bf16 pair read as one 32-bit lane holds the odd element's f32 in its
// high half (mask the low half away) and the even element's in its low half (shift it up).
// xe[i] = x[2i], xo[i] = x[2i+1]. Each 32 weights: one load, an AND, a shift, two FMAs.
AVX512_FN void smol_matvec_bf16_avx512(const uint16_t *W, const float *xe, const float *xo, float *y, size_t r0,
                                       size_t r1, size_t cols) {
    const __m512i hi = _mm512_set1_epi32((int)0xFFFF0000u);
    const size_t pairs = cols / 2, main = pairs & ~(size_t)15;
    const __mmask16 tm = tail_mask16(pairs - main);
    const uint32_t *W32 = (const uint32_t *)W;
#define PAIR(E, O, ROW, WLOAD)                                                                 \
    {                                                                                          \
        __m512i w = WLOAD;                                                                     \
        O = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(w, hi)), xov, O);             \
        E = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(w, 16)), xev, E);            \
        (void)(ROW);                                                                           \
    }
    size_t r = r0;
    for (; r + 4 <= r1; r += 4) {
        __m512 e0 = _mm512_setzero_ps(), e1 = e0, e2 = e0, e3 = e0, o0 = e0, o1 = e0, o2 = e0, o3 = e0;
        const uint32_t *p0 = W32 + r * pairs, *p1 = p0 + pairs, *p2 = p1 + pairs, *p3 = p2 + pairs;
        const char *next = (const char *)(p0 + 4 * pairs), *end = (const char *)(W32 + r1 * pairs);
        size_t k = 0;
        for (; k < main; k += 16) {
            // 4 rows x 64 bytes per step: fetch the same amount of the next four rows.
            PREFETCH_NEXT(next, end, k * 16, 4)
            __m512 xev = _mm512_loadu_ps(xe + k), xov = _mm512_loadu_ps(xo + k);
            PAIR(e0, o0, 0, _mm512_loadu_si512(p0 + k))
            PAIR(e1, o1, 1, _mm512_loadu_si512(p1 + k))
            PAIR(e2, o2, 2, _mm512_loadu_si512(p2 + k))
            PAIR(e3, o3, 3, _mm512_loadu_si512(p3 + k))
        }
        if (k < pairs) {
            __m512 xev = _mm512_maskz_loadu_ps(tm, xe + k), xov = _mm512_maskz_loadu_ps(tm, xo + k);
            PAIR(e0, o0, 0, _mm512_maskz_loadu_epi32(tm, p0 + k))
            PAIR(e1, o1, 1, _mm512_maskz_loadu_epi32(tm, p1 + k))
            PAIR(e2, o2, 2, _mm512_maskz_loadu_epi32(tm, p2 + k))
            PAIR(e3, o3, 3, _mm512_maskz_loadu_epi32(tm, p3 + k))
        }
        y[r] = _mm512_reduce_add_ps(_mm512_add_ps(e0, o0));
        y[r + 1] = _mm512_reduce_add_ps(_mm512_add_ps(e1, o1));
        y[r + 2] = _mm512_reduce_add_ps(_mm512_add_ps(e2, o2));
        y[r + 3] = _mm512_reduce_add_ps(_mm512_add_ps(e3, o3));
    }
    for (; r < r1; r++) {
        __m512 e0 = _mm512_setzero_ps(), o0 = e0;
        const uint32_t *p0 = W32 + r * pairs;
        size_t k = 0;
        for (; k < main; k += 16) {
            __m512 xev = _mm512_loadu_ps(xe + k), xov = _mm512_loadu_ps(xo + k);
            PAIR(e0, o0, 0, _mm512_loadu_si512(p0 + k))
        }
        if (k < pairs) {
            __m512 xev = _mm512_maskz_loadu_ps(tm, xe + k), xov = _mm512_maskz_loadu_ps(tm, xo + k);
            PAIR(e0, o0, 0, _mm512_maskz_loadu_epi32(tm, p0 + k))
        }
        y[r] = _mm512_reduce_add_ps(_mm512_add_ps(e0, o0));
    }
#undef PAIR
}

// 16 weights widened to f32, or fewer under a mask (zeros beyond).
AVX512_FN static inline __m512 load16(const void *W, smol_dtype dt, size_t i, __mmask16 m) {
    if (dt == SMOL_BF16) {
        __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)W + i);
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    } else if (dt == SMOL_F16) {
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)W + i));
    }
    return _mm512_maskz_loadu_ps(m, (const float *)W + i);
}

// Any dtype and width; specialised per dtype so the branch in load16 folds away.
#define DEFINE_MATVEC_AVX512(NAME, DT, ES)                                                     \
    AVX512_FN static void NAME(const void *W, const float *x, float *y, size_t r0, size_t r1,  \
                               size_t cols) {                                                  \
        const size_t main32 = cols & ~(size_t)31;                                              \
        size_t r = r0;                                                                         \
        for (; r + 4 <= r1; r += 4) {                                                          \
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;                        \
            __m512 c0 = a0, c1 = a0, c2 = a0, c3 = a0;                                         \
            size_t b0 = r * cols, b1 = b0 + cols, b2 = b1 + cols, b3 = b2 + cols;              \
            const char *next = (const char *)W + (b0 + 4 * cols) * (ES);                       \
            const char *end = (const char *)W + r1 * cols * (ES);                              \
            size_t k = 0;                                                                      \
            for (; k < main32; k += 32) {                                                      \
                PREFETCH_NEXT(next, end, k * 4 * (ES), 2 * (ES))                               \
                __m512 xv = _mm512_loadu_ps(x + k), xw = _mm512_loadu_ps(x + k + 16);          \
                a0 = _mm512_fmadd_ps(load16(W, DT, b0 + k, 0xFFFF), xv, a0);                   \
                a1 = _mm512_fmadd_ps(load16(W, DT, b1 + k, 0xFFFF), xv, a1);                   \
                a2 = _mm512_fmadd_ps(load16(W, DT, b2 + k, 0xFFFF), xv, a2);                   \
                a3 = _mm512_fmadd_ps(load16(W, DT, b3 + k, 0xFFFF), xv, a3);                   \
                c0 = _mm512_fmadd_ps(load16(W, DT, b0 + k + 16, 0xFFFF), xw, c0);              \
                c1 = _mm512_fmadd_ps(load16(W, DT, b1 + k + 16, 0xFFFF), xw, c1);              \
                c2 = _mm512_fmadd_ps(load16(W, DT, b2 + k + 16, 0xFFFF), xw, c2);              \
                c3 = _mm512_fmadd_ps(load16(W, DT, b3 + k + 16, 0xFFFF), xw, c3);              \
            }                                                                                  \
            for (; k < cols; k += 16) {                                                        \
                __mmask16 m = tail_mask16(cols - k);                                           \
                __m512 xv = _mm512_maskz_loadu_ps(m, x + k);                                   \
                a0 = _mm512_fmadd_ps(load16(W, DT, b0 + k, m), xv, a0);                        \
                a1 = _mm512_fmadd_ps(load16(W, DT, b1 + k, m), xv, a1);                        \
                a2 = _mm512_fmadd_ps(load16(W, DT, b2 + k, m), xv, a2);                        \
                a3 = _mm512_fmadd_ps(load16(W, DT, b3 + k, m), xv, a3);                        \
            }                                                                                  \
            y[r] = _mm512_reduce_add_ps(_mm512_add_ps(a0, c0));                                \
            y[r + 1] = _mm512_reduce_add_ps(_mm512_add_ps(a1, c1));                            \
            y[r + 2] = _mm512_reduce_add_ps(_mm512_add_ps(a2, c2));                            \
            y[r + 3] = _mm512_reduce_add_ps(_mm512_add_ps(a3, c3));                            \
        }                                                                                      \
        for (; r < r1; r++) {                                                                  \
            __m512 a0 = _mm512_setzero_ps();                                                   \
            size_t b0 = r * cols;                                                              \
            for (size_t k = 0; k < cols; k += 16) {                                            \
                __mmask16 m = tail_mask16(cols - k);                                           \
                a0 = _mm512_fmadd_ps(load16(W, DT, b0 + k, m), _mm512_maskz_loadu_ps(m, x + k), a0); \
            }                                                                                  \
            y[r] = _mm512_reduce_add_ps(a0);                                                   \
        }                                                                                      \
    }

DEFINE_MATVEC_AVX512(matvec_bf16_wide, SMOL_BF16, 2)
DEFINE_MATVEC_AVX512(matvec_f16, SMOL_F16, 2)
DEFINE_MATVEC_AVX512(matvec_f32, SMOL_F32, 4)

void smol_matvec_avx512(const void *W, smol_dtype dt, const float *x, float *y, size_t r0, size_t r1, size_t cols) {
    switch (dt) {
    case SMOL_BF16: matvec_bf16_wide(W, x, y, r0, r1, cols); return;
    case SMOL_F16: matvec_f16(W, x, y, r0, r1, cols); return;
    default: matvec_f32(W, x, y, r0, r1, cols); return;
    }
}

AVX512_FN void smol_convert_avx512(const void *src, smol_dtype dt, float *dst, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask16(n - i);
        _mm512_mask_storeu_ps(dst + i, m, load16(src, dt, i, m));
    }
}

AVX512_FN float smol_dot_avx512(const float *a, const float *b, size_t n) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
    }
    for (; i < n; i += 16) {
        __mmask16 m = tail_mask16(n - i);
        acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

AVX512_FN void smol_axpy_avx512(float a, const float *x, float *y, size_t n) {
    __m512 av = _mm512_set1_ps(a);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask16(n - i);
        __m512 r = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i));
        _mm512_mask_storeu_ps(y + i, m, r);
    }
}
#endif

// ---- bf16 dot products (AVX512_BF16): decode with x rounded to bf16 ---------------------------
// One row at a time per thread, 128 weights per step into four vdpbf16ps chains: fewer
// instructions per byte than widening, and one sequential stream per thread, which measured
// 10-15% closer to the bandwidth wall here (Zen 5). The arithmetic of the bf16 GEMM.
#if defined(__x86_64__)
#define BF16_FN __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")))

static inline __mmask32 tail_mask32(size_t n) { return n >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << n) - 1); }

BF16_FN static void matvec_dpbf16_rows(const uint16_t *W, const uint16_t *xb, float *y, size_t r0, size_t r1,
                                       size_t cols) {
    const size_t main = cols & ~(size_t)127;
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *p = W + r * cols;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        size_t k = 0;
        for (; k < main; k += 128) {
            a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_loadu_si512(p + k), (__m512bh)_mm512_loadu_si512(xb + k));
            a1 = _mm512_dpbf16_ps(a1, (__m512bh)_mm512_loadu_si512(p + k + 32), (__m512bh)_mm512_loadu_si512(xb + k + 32));
            a2 = _mm512_dpbf16_ps(a2, (__m512bh)_mm512_loadu_si512(p + k + 64), (__m512bh)_mm512_loadu_si512(xb + k + 64));
            a3 = _mm512_dpbf16_ps(a3, (__m512bh)_mm512_loadu_si512(p + k + 96), (__m512bh)_mm512_loadu_si512(xb + k + 96));
        }
        for (; k < cols; k += 32) {
            __mmask32 m = tail_mask32(cols - k);
            a0 = _mm512_dpbf16_ps(a0, (__m512bh)_mm512_maskz_loadu_epi16(m, p + k), (__m512bh)_mm512_maskz_loadu_epi16(m, xb + k));
        }
        y[r] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    }
}

// Small batches (n <= 4 input rows): each weight row is read once for all of them. Per input
// row the same chains and reduction as the one-row kernel, so a token gets the same result
// whether it runs alone or in a small batch.
// Written for a compile-time n (see matvec_dpbf16_batch), so that the loops over t unroll and
// the 4n accumulators stay in registers: with a run-time n they went through the stack and two
// streams already made decode compute-bound (measured on Zen 4: 4 streams no faster than 2).
BF16_FN static inline __attribute__((always_inline)) void dpbf16_batch_n(const uint16_t *W, const uint16_t *xb, const size_t n,
                                                                          float *y, size_t ldy, size_t r0, size_t r1, size_t cols) {
    const size_t main = cols & ~(size_t)127;
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *p = W + r * cols;
        __m512 a[4][4];
        for (size_t t = 0; t < 4; t++)
            for (int v = 0; v < 4; v++) a[t][v] = _mm512_setzero_ps();
        size_t k = 0;
        for (; k < main; k += 128) {
            __m512bh w0 = (__m512bh)_mm512_loadu_si512(p + k), w1 = (__m512bh)_mm512_loadu_si512(p + k + 32);
            __m512bh w2 = (__m512bh)_mm512_loadu_si512(p + k + 64), w3 = (__m512bh)_mm512_loadu_si512(p + k + 96);
            for (size_t t = 0; t < n; t++) {
                const uint16_t *x = xb + t * cols;
                a[t][0] = _mm512_dpbf16_ps(a[t][0], w0, (__m512bh)_mm512_loadu_si512(x + k));
                a[t][1] = _mm512_dpbf16_ps(a[t][1], w1, (__m512bh)_mm512_loadu_si512(x + k + 32));
                a[t][2] = _mm512_dpbf16_ps(a[t][2], w2, (__m512bh)_mm512_loadu_si512(x + k + 64));
                a[t][3] = _mm512_dpbf16_ps(a[t][3], w3, (__m512bh)_mm512_loadu_si512(x + k + 96));
            }
        }
        for (; k < cols; k += 32) {
            __mmask32 m = tail_mask32(cols - k);
            __m512bh w = (__m512bh)_mm512_maskz_loadu_epi16(m, p + k);
            for (size_t t = 0; t < n; t++)
                a[t][0] = _mm512_dpbf16_ps(a[t][0], w, (__m512bh)_mm512_maskz_loadu_epi16(m, xb + t * cols + k));
        }
        for (size_t t = 0; t < n; t++)
            y[t * ldy + r] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a[t][0], a[t][1]), _mm512_add_ps(a[t][2], a[t][3])));
    }
}

BF16_FN static void matvec_dpbf16_batch(const uint16_t *W, const uint16_t *xb, size_t n, float *y, size_t ldy,
                                        size_t r0, size_t r1, size_t cols) {
    switch (n) {
    case 2: dpbf16_batch_n(W, xb, 2, y, ldy, r0, r1, cols); break;
    case 3: dpbf16_batch_n(W, xb, 3, y, ldy, r0, r1, cols); break;
    default: dpbf16_batch_n(W, xb, 4, y, ldy, r0, r1, cols); break;
    }
}

typedef struct {
    const smol_matvec_job *jobs;
    int njobs;
    const uint16_t *xb;  // [n, cols]
    size_t n, cols, total_rows, chunk;
    _Atomic size_t next;
} dp_ctx;

static void dp_task(void *p, int ith, int nth) {
    dp_ctx *c = p;
    (void)ith; (void)nth;
    size_t lo, hi;
    while (smol_claim(&c->next, c->total_rows, c->chunk, &lo, &hi)) {
        size_t base = 0;
        for (int j = 0; j < c->njobs && base < hi; j++) {
            const smol_matvec_job *job = &c->jobs[j];
            size_t s = lo > base ? lo - base : 0, e = hi - base < job->rows ? hi - base : job->rows;
            if (s < e && c->n == 1) matvec_dpbf16_rows(job->W, c->xb, job->y, s, e, c->cols);
            else if (s < e) matvec_dpbf16_batch(job->W, c->xb, c->n, job->y, job->rows, s, e, c->cols);
            base += job->rows;
        }
    }
}

BF16_FN void smol_round_bf16_avx512(const float *x, uint16_t *xb, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm256_storeu_si256((__m256i *)(xb + i), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + i)));
    for (; i < n; i++) xb[i] = smol_f32_to_bf16(x[i]);
}

int smol_matvec_multi_dpbf16(smol_pool *pool, const smol_matvec_job *jobs, int njobs, const float *x, size_t n,
                             size_t cols) {
    if (smol_isa_active() < SMOL_ISA_AVX512_BF16 || njobs < 1 || n < 1 || n > 4) return 0;
    for (int j = 0; j < njobs; j++)
        if (jobs[j].dtype != SMOL_BF16) return 0;
    // x in bf16: the calling thread's buffer, grown and kept (decode allocates nothing).
    static _Thread_local void *buf = NULL;
    static _Thread_local size_t cap = 0;
    uint16_t *xb = smol_grow(&buf, &cap, n * cols * sizeof(uint16_t));
    if (!xb) return 0;
    smol_round_bf16_avx512(x, xb, n * cols);
    dp_ctx c = {jobs, njobs, xb, n, cols, 0, 0, 0};
    for (int j = 0; j < njobs; j++) c.total_rows += jobs[j].rows;
    c.chunk = smol_chunk(c.total_rows, smol_pool_size(pool), 8, 4);
    smol_pool_run(pool, dp_task, &c);
    return 1;
}
#else
int smol_matvec_multi_dpbf16(smol_pool *pool, const smol_matvec_job *jobs, int njobs, const float *x, size_t n,
                             size_t cols) {
    (void)pool; (void)jobs; (void)njobs; (void)x; (void)n; (void)cols;
    return 0;
}
#endif
