// Matrix-vector products that read bf16 / f16 / f32 weights in their stored precision and
// accumulate in f32. Decode is memory-bound: each weight byte is read once per token, four
// rows per pass so every load of x serves four rows.
#include "smol_kernels.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define AVX2_FN __attribute__((target("avx2,fma,f16c")))
#endif

// ---- scalar reference path ----------------------------------------------------------------

static inline float load_elem(const void *W, smol_dtype dt, size_t i) {
    switch (dt) {
    case SMOL_BF16: return smol_bf16_to_f32(((const uint16_t *)W)[i]);
    case SMOL_F16: return smol_f16_to_f32(((const uint16_t *)W)[i]);
    default: return ((const float *)W)[i];
    }
}

static void matvec_scalar(const void *W, smol_dtype dt, const float *x, float *y, size_t r0,
                          size_t r1, size_t cols) {
    for (size_t r = r0; r < r1; r++) {
        float acc = 0;
        for (size_t k = 0; k < cols; k++) acc += load_elem(W, dt, r * cols + k) * x[k];
        y[r] = acc;
    }
}

static void convert_scalar(const void *src, smol_dtype dt, float *dst, size_t n) {
    if (dt == SMOL_F32) { memcpy(dst, src, n * sizeof(float)); return; }
    for (size_t i = 0; i < n; i++) dst[i] = load_elem(src, dt, i);
}

static float smol_dot_f32_scalar(const float *a, const float *b, size_t n) {
    float acc = 0;
    for (size_t i = 0; i < n; i++) acc += a[i] * b[i];
    return acc;
}

// ---- AVX2 path -------------------------------------------------------------------------------
#if defined(__x86_64__)
AVX2_FN static inline float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

AVX2_FN static inline __m256 load8(const void *W, smol_dtype dt, size_t i) {
    if (dt == SMOL_BF16) {
        __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)W + i));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    } else if (dt == SMOL_F16) {
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)W + i)));
    }
    return _mm256_loadu_ps((const float *)W + i);
}

// Specialised per dtype so the branch in load8 folds away. Four rows per pass share each load
// of x; two accumulators per row (16 columns per step) keep 8 independent FMA chains in flight.
#define DEFINE_MATVEC_AVX2(NAME, DT)                                                            \
    AVX2_FN static void NAME(const void *W, const float *x, float *y, size_t r0, size_t r1,     \
                             size_t cols) {                                                     \
        size_t main16 = cols & ~(size_t)15, main8 = cols & ~(size_t)7;                          \
        size_t r = r0;                                                                          \
        for (; r + 4 <= r1; r += 4) {                                                           \
            __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();                          \
            __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();                          \
            __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps();                          \
            __m256 c2 = _mm256_setzero_ps(), c3 = _mm256_setzero_ps();                          \
            size_t b0 = r * cols, b1 = b0 + cols, b2 = b1 + cols, b3 = b2 + cols;                \
            const size_t es = DT == SMOL_F32 ? 4 : 2;                                           \
            const char *next = (const char *)W + (b0 + 4 * cols) * es;                          \
            const char *end = (const char *)W + r1 * cols * es;                                 \
            size_t k = 0;                                                                       \
            for (; k < main16; k += 16) {                                                       \
                /* Fetch the next four rows as these run (see matvec_avx2_bf16_split). */       \
                for (size_t l = 0; l < es; l++) {                                               \
                    const char *pf = next + k * 4 * es + l * 64;                                \
                    if (pf < end) _mm_prefetch(pf, _MM_HINT_T0);                                \
                }                                                                               \
                __m256 xv = _mm256_loadu_ps(x + k), xw = _mm256_loadu_ps(x + k + 8);            \
                a0 = _mm256_fmadd_ps(load8(W, DT, b0 + k), xv, a0);                             \
                a1 = _mm256_fmadd_ps(load8(W, DT, b1 + k), xv, a1);                             \
                a2 = _mm256_fmadd_ps(load8(W, DT, b2 + k), xv, a2);                             \
                a3 = _mm256_fmadd_ps(load8(W, DT, b3 + k), xv, a3);                             \
                c0 = _mm256_fmadd_ps(load8(W, DT, b0 + k + 8), xw, c0);                         \
                c1 = _mm256_fmadd_ps(load8(W, DT, b1 + k + 8), xw, c1);                         \
                c2 = _mm256_fmadd_ps(load8(W, DT, b2 + k + 8), xw, c2);                         \
                c3 = _mm256_fmadd_ps(load8(W, DT, b3 + k + 8), xw, c3);                         \
            }                                                                                   \
            for (; k < main8; k += 8) {                                                         \
                __m256 xv = _mm256_loadu_ps(x + k);                                             \
                a0 = _mm256_fmadd_ps(load8(W, DT, b0 + k), xv, a0);                             \
                a1 = _mm256_fmadd_ps(load8(W, DT, b1 + k), xv, a1);                             \
                a2 = _mm256_fmadd_ps(load8(W, DT, b2 + k), xv, a2);                             \
                a3 = _mm256_fmadd_ps(load8(W, DT, b3 + k), xv, a3);                             \
            }                                                                                   \
            float s0 = hsum256(_mm256_add_ps(a0, c0)), s1 = hsum256(_mm256_add_ps(a1, c1));     \
            float s2 = hsum256(_mm256_add_ps(a2, c2)), s3 = hsum256(_mm256_add_ps(a3, c3));     \
            for (; k < cols; k++) {                                                             \
                s0 += load_elem(W, DT, b0 + k) * x[k];                                          \
                s1 += load_elem(W, DT, b1 + k) * x[k];                                          \
                s2 += load_elem(W, DT, b2 + k) * x[k];                                          \
                s3 += load_elem(W, DT, b3 + k) * x[k];                                          \
            }                                                                                   \
            y[r] = s0; y[r + 1] = s1; y[r + 2] = s2; y[r + 3] = s3;                             \
        }                                                                                       \
        for (; r < r1; r++) {                                                                   \
            __m256 a0 = _mm256_setzero_ps();                                                    \
            size_t b0 = r * cols;                                                               \
            for (size_t k = 0; k < main8; k += 8)                                               \
                a0 = _mm256_fmadd_ps(load8(W, DT, b0 + k), _mm256_loadu_ps(x + k), a0);          \
            float s0 = hsum256(a0);                                                             \
            for (size_t k = main8; k < cols; k++) s0 += load_elem(W, DT, b0 + k) * x[k];         \
            y[r] = s0;                                                                          \
        }                                                                                       \
    }

DEFINE_MATVEC_AVX2(matvec_avx2_bf16, SMOL_BF16)
DEFINE_MATVEC_AVX2(matvec_avx2_f16, SMOL_F16)
DEFINE_MATVEC_AVX2(matvec_avx2_f32, SMOL_F32)

// bf16 without a widening shuffle: a bf16 pair read as one 32-bit lane is the odd element's
// f32 in the high half (mask the low half away) and the even element's in the low half (shift
// it up). x is de-interleaved once per call into xe / xo to match, so each 16 weights cost one
// load, an AND, a shift and two FMAs. cols must be a multiple of 16 here.
AVX2_FN static void matvec_avx2_bf16_split(const uint16_t *W, const float *xe, const float *xo, float *y,
                                           size_t r0, size_t r1, size_t cols) {
    const __m256i hi = _mm256_set1_epi32((int)0xFFFF0000u);
    size_t r = r0;
#define BF16_PAIR(ACC_E, ACC_O, ROW)                                                             \
    {                                                                                           \
        __m256i w = _mm256_loadu_si256((const __m256i *)(W + (ROW) + k));                       \
        ACC_O = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(w, hi)), xov, ACC_O);       \
        ACC_E = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(w, 16)), xev, ACC_E);      \
    }
    for (; r + 4 <= r1; r += 4) {
        __m256 e0 = _mm256_setzero_ps(), e1 = _mm256_setzero_ps(), e2 = _mm256_setzero_ps(), e3 = _mm256_setzero_ps();
        __m256 o0 = _mm256_setzero_ps(), o1 = _mm256_setzero_ps(), o2 = _mm256_setzero_ps(), o3 = _mm256_setzero_ps();
        size_t b0 = r * cols, b1 = b0 + cols, b2 = b1 + cols, b3 = b2 + cols;
        // The next four rows are contiguous: fetch them 128 bytes per step while these run,
        // as the hardware prefetcher stalls on four short interleaved streams.
        const char *next = (const char *)(W + b0 + 4 * cols);
        const char *end = (const char *)(W + r1 * cols);
        for (size_t k = 0; k < cols; k += 16) {
            const char *pf = next + k * 8;
            if (pf < end) {
                _mm_prefetch(pf, _MM_HINT_T0);
                _mm_prefetch(pf + 64, _MM_HINT_T0);
            }
            __m256 xev = _mm256_loadu_ps(xe + k / 2), xov = _mm256_loadu_ps(xo + k / 2);
            BF16_PAIR(e0, o0, b0)
            BF16_PAIR(e1, o1, b1)
            BF16_PAIR(e2, o2, b2)
            BF16_PAIR(e3, o3, b3)
        }
        y[r] = hsum256(_mm256_add_ps(e0, o0));
        y[r + 1] = hsum256(_mm256_add_ps(e1, o1));
        y[r + 2] = hsum256(_mm256_add_ps(e2, o2));
        y[r + 3] = hsum256(_mm256_add_ps(e3, o3));
    }
    for (; r < r1; r++) {
        __m256 e0 = _mm256_setzero_ps(), o0 = _mm256_setzero_ps();
        size_t b0 = r * cols;
        for (size_t k = 0; k < cols; k += 16) {
            __m256 xev = _mm256_loadu_ps(xe + k / 2), xov = _mm256_loadu_ps(xo + k / 2);
            BF16_PAIR(e0, o0, b0)
        }
        y[r] = hsum256(_mm256_add_ps(e0, o0));
    }
#undef BF16_PAIR
}


AVX2_FN static void convert_avx2(const void *src, smol_dtype dt, float *dst, size_t n) {
    size_t i = 0;
    if (dt == SMOL_F32) { memcpy(dst, src, n * sizeof(float)); return; }
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load8(src, dt, i));
    for (; i < n; i++) dst[i] = load_elem(src, dt, i);
}

AVX2_FN static float dot_avx2(const float *a, const float *b, size_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    }
    for (; i + 8 <= n; i += 8)
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    float s = hsum256(_mm256_add_ps(acc0, acc1));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

AVX2_FN static void axpy_avx2(float a, const float *x, float *y, size_t n) {
    __m256 av = _mm256_set1_ps(a);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += a * x[i];
}
#endif

// xe[i] = x[2i], xo[i] = x[2i+1]: the layout of the bf16 pair kernels.
static void deinterleave_x(const float *x, size_t cols, float *xe, float *xo) {
    for (size_t i = 0; i < cols / 2; i++) {
        xe[i] = x[2 * i];
        xo[i] = x[2 * i + 1];
    }
}

// ---- dispatch ------------------------------------------------------------------------------

// Whether the bf16 kernel of the active level takes x de-interleaved (xe, xo) for this width.
static int bf16_split_ok(size_t cols) {
#if defined(__x86_64__)
    int isa = smol_isa_active();
    if (isa >= SMOL_ISA_AVX512) return cols % 2 == 0;
    if (isa >= SMOL_ISA_AVX2) return cols % 16 == 0;
#endif
    (void)cols;
    return 0;
}

// Rows [r0, r1) on the active level; xe/xo (x de-interleaved, when bf16_split_ok) or NULL;
// qx: x quantized by smol_quantize_x, for block-type weights.
static void matvec_rows(const void *W, smol_dtype dt, const float *x, const float *xe, const float *xo,
                        const void *qx, float *y, size_t r0, size_t r1, size_t cols) {
    if (smol_dtype_is_quant(dt)) { smol_matvec_quant_rows(W, dt, qx, y, r0, r1, cols); return; }
#if defined(__x86_64__)
    int isa = smol_isa_active();
    if (isa >= SMOL_ISA_AVX512) {
        if (dt == SMOL_BF16 && xe) smol_matvec_bf16_avx512(W, xe, xo, y, r0, r1, cols);
        else smol_matvec_avx512(W, dt, x, y, r0, r1, cols);
        return;
    }
    if (isa >= SMOL_ISA_AVX2) {
        switch (dt) {
        case SMOL_BF16:
            if (xe) matvec_avx2_bf16_split(W, xe, xo, y, r0, r1, cols);
            else matvec_avx2_bf16(W, x, y, r0, r1, cols);
            return;
        case SMOL_F16: matvec_avx2_f16(W, x, y, r0, r1, cols); return;
        default: matvec_avx2_f32(W, x, y, r0, r1, cols); return;
        }
    }
#endif
    (void)xe; (void)xo;
    matvec_scalar(W, dt, x, y, r0, r1, cols);
}

void smol_matvec_range(const void *W, smol_dtype dt, const float *x, float *y, size_t r0,
                       size_t r1, size_t cols) {
    if (smol_dtype_is_quant(dt)) {
        static _Thread_local void *qbuf = NULL;
        static _Thread_local size_t qcap = 0;
        void *qx = smol_grow(&qbuf, &qcap, smol_qx_bytes(cols));
        if (!qx) return;
        smol_quantize_x(x, cols, qx);
        smol_matvec_quant_rows(W, dt, qx, y, r0, r1, cols);
        return;
    }
    if (dt == SMOL_BF16 && bf16_split_ok(cols)) {
        float stack[2 * 2048];
        float *xs = cols <= 2 * 2048 ? stack : malloc(cols * sizeof(float));
        if (xs) {
            deinterleave_x(x, cols, xs, xs + cols / 2);
            matvec_rows(W, dt, x, xs, xs + cols / 2, NULL, y, r0, r1, cols);
            if (xs != stack) free(xs);
            return;
        }
    }
    matvec_rows(W, dt, x, NULL, NULL, NULL, y, r0, r1, cols);
}

void smol_convert_to_f32(const void *src, smol_dtype dt, float *dst, size_t n) {
    if (smol_dtype_is_r8(dt)) { for (size_t i = 0; i < n; i++) dst[i] = __builtin_nanf(""); return; }
    if (smol_dtype_is_quant(dt)) { smol_dequantize(smol_dtype_ggml(dt), src, dst, n); return; }
#if defined(__x86_64__)
    if (dt == SMOL_F32) { memcpy(dst, src, n * sizeof(float)); return; }
    if (smol_isa_active() >= SMOL_ISA_AVX512) { smol_convert_avx512(src, dt, dst, n); return; }
    if (smol_isa_active() >= SMOL_ISA_AVX2) { convert_avx2(src, dt, dst, n); return; }
#endif
    convert_scalar(src, dt, dst, n);
}

float smol_dot_f32(const float *a, const float *b, size_t n) {
#if defined(__x86_64__)
    if (smol_isa_active() >= SMOL_ISA_AVX512) return smol_dot_avx512(a, b, n);
    if (smol_isa_active() >= SMOL_ISA_AVX2) return dot_avx2(a, b, n);
#endif
    return smol_dot_f32_scalar(a, b, n);
}

void smol_axpy_f32(float a, const float *x, float *y, size_t n) {
#if defined(__x86_64__)
    if (smol_isa_active() >= SMOL_ISA_AVX512) { smol_axpy_avx512(a, x, y, n); return; }
    if (smol_isa_active() >= SMOL_ISA_AVX2) { axpy_avx2(a, x, y, n); return; }
#endif
    for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

// ---- parallel drivers --------------------------------------------------------------------------

typedef struct {
    const smol_matvec_job *jobs;
    int njobs;
    const float *x;  // [n, cols]
    size_t n, cols, total_rows, chunk;
    _Atomic size_t next;
    const float *xe, *xo;  // x de-interleaved for the bf16 kernel, or NULL
    const uint8_t *qx;     // x quantized (smol_quantize_x), qx_stride bytes per row, or NULL
    size_t qx_stride;
} multi_ctx;

// Rows of all jobs are concatenated and claimed in chunks (multiples of 4 rows). Every input row
// goes through the same single-token kernel (matvec_rows) as a decode of that row alone, so a
// sequence's logits do not depend on what it was batched with; a block of weight rows is
// re-read from L1 for the later input rows, so DRAM still sees each weight once.
static void multi_task(void *p, int ith, int nth) {
    multi_ctx *c = p;
    (void)ith; (void)nth;
    size_t lo, hi;
    const size_t block = 16;
    while (smol_claim(&c->next, c->total_rows, c->chunk, &lo, &hi)) {
        size_t base = 0;
        for (int j = 0; j < c->njobs && base < hi; j++) {
            const smol_matvec_job *job = &c->jobs[j];
            size_t s = lo > base ? lo - base : 0;
            size_t e = hi - base < job->rows ? hi - base : job->rows;
            int split = c->xe && job->dtype == SMOL_BF16;
            if (smol_dtype_is_r8(job->dtype)) {  // one tile computes a group for all rows of the batch
                smol_matvec_r8_rows(job->W, job->dtype, c->qx, c->qx_stride, c->n, job->y, job->rows, s, e, c->cols);
                base += job->rows;
                continue;
            }
            for (size_t b = s; b < e; b += block) {
                size_t be = b + block < e ? b + block : e;
                for (size_t t = 0; t < c->n; t++) {
                    const float *xt = c->x + t * c->cols;
                    const float *xe = split ? c->xe + t * c->cols : NULL;
                    const float *xo = split ? c->xe + t * c->cols + c->cols / 2 : NULL;
                    const void *qx = c->qx ? c->qx + t * c->qx_stride : NULL;
                    matvec_rows(job->W, job->dtype, xt, xe, xo, qx, job->y + t * job->rows, b, be, c->cols);
                }
            }
            base += job->rows;
        }
    }
}

void smol_matmul_multi(smol_pool *pool, const smol_matvec_job *jobs, int njobs, const float *X,
                       size_t n, size_t cols) {
    multi_ctx c = {jobs, njobs, X, n, cols, 0, 0, 0, NULL, NULL, NULL, 0};
    int quant = 0;
    for (int j = 0; j < njobs; j++) {
        c.total_rows += jobs[j].rows;
        quant |= smol_dtype_is_quant(jobs[j].dtype);
    }
    // Block-type weights: each input row quantized once, for every thread.
    static _Thread_local void *qbuf = NULL;
    static _Thread_local size_t qcap = 0;
    if (quant) {
        c.qx_stride = smol_qx_bytes(cols);
        uint8_t *q = smol_grow(&qbuf, &qcap, n * c.qx_stride);
        if (!q) return;
        for (size_t t = 0; t < n; t++) smol_quantize_x(X + t * cols, cols, q + t * c.qx_stride);
        c.qx = q;
    }
    // x split once per input row for every thread (bf16 weights). The buffer belongs to the
    // calling thread and only grows, so steady-state decode allocates nothing.
    static _Thread_local void *split = NULL;
    static _Thread_local size_t split_cap = 0;
    if (bf16_split_ok(cols)) {
        float *xs = smol_grow(&split, &split_cap, n * cols * sizeof(float));
        if (xs) {
            for (size_t t = 0; t < n; t++) deinterleave_x(X + t * cols, cols, xs + t * cols, xs + t * cols + cols / 2);
            c.xe = xs;
            c.xo = xs + cols / 2;
        }
    }
    // Multiples of 8 rows: interleaved Q4 computes 8 rows per group.
    c.chunk = smol_chunk(c.total_rows, smol_pool_size(pool), 8, 8);
    smol_pool_run(pool, multi_task, &c);
}

void smol_matvec_multi(smol_pool *pool, const smol_matvec_job *jobs, int njobs, const float *x,
                       size_t cols) {
    smol_matmul_multi(pool, jobs, njobs, x, 1, cols);
}

typedef struct {
    const void *W;
    smol_dtype dt;
    float *dst;
    size_t rows, cols;
    _Atomic size_t next;
} convert_ctx;

static void convert_task(void *p, int ith, int nth) {
    convert_ctx *c = p;
    size_t r0, r1;
    (void)ith; (void)nth;
    while (smol_claim(&c->next, c->rows, 16, &r0, &r1))
    smol_convert_to_f32((const char *)c->W + r0 * smol_dtype_row_bytes(c->dt, c->cols), c->dt,
                        c->dst + r0 * c->cols, (r1 - r0) * c->cols);
}

void smol_convert_rows_parallel(smol_pool *pool, const void *W, smol_dtype dt, float *dst,
                                size_t rows, size_t cols) {
    convert_ctx c = {W, dt, dst, rows, cols, 0};
    smol_pool_run(pool, convert_task, &c);
}
