// Prefill GEMM on AVX512_BF16: Y_j [n, rows_j] = bf16(X) [n, cols] * W_j^T for bf16 weights,
// f32 accumulation (vdpbf16ps) - the arithmetic of transformers running a bf16 checkpoint.
//
// Blocking (BLIS-style, sized for Zen 4 / Sapphire Rapids caches):
//   - X is rounded to bf16 once per call, rows padded to an even length: Xb [n, kp2 * 2].
//   - Threads claim blocks of NC output columns (rows of one W_j) from a shared counter, so a
//     slow or descheduled thread never leaves the other idle at the end.
//   - Per block and per KC-deep slice of K, the thread packs W into NR = 64 column panels in
//     its own scratch: panel[p][j] = the bf16 pair (W[j, 2p], W[j, 2p + 1]) as one 32-bit lane,
//     so one zmm holds 16 columns' pairs.  Packed block: NC * KC * 2 bytes = 256 KB (L2).
//   - The micro-kernel keeps an MR x NR = 6 x 64 tile of Y in 24 zmm accumulators; per pair of
//     k it loads 4 zmm of W and broadcasts 6 bf16 pairs of X: 24 vdpbf16ps per 10 loads.
//     The X tile (6 x KC bf16 = 6 KB) stays in L1 across the block's panels.
#include "smol_kernels.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define BF16_FN __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")))

enum { MR = 6, NR = 64, KC = 512, NC_MAX = 256 };

typedef struct {
    const smol_matvec_job *jobs;  // W (bf16 [rows, cols]) and Y ([n, rows]) of each matrix
    int njobs;
    const uint16_t *xb;  // [n, ldx] bf16, zero-padded to an even width
    size_t n, cols, ldx, nc;
    size_t blocks_total;
    size_t job_first_block[17];  // prefix sums of blocks per job
    _Atomic size_t next;
} gemm_bf16_ctx;

// 16 x 16 transpose of 32-bit lanes: r[i] holds row i on entry and column i on return.
BF16_FN static inline void transpose16(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    // Now within each 128-bit lane L of r[4g + c]: column 4L' + c ... regroup the lanes.
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0x88);       // lanes 0,2 of a | 0,2 of b
        t[i + 4] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0xdd);   // lanes 1,3 of a | 1,3 of b
        t[i + 8] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
        r[i + 4] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0xdd);
    }
}

// Packs W[j0 .. j0+nr) x [k0, k0 + 2*kp) into panel[p][0..NR) (32-bit pairs), zero beyond nr
// columns and beyond the matrix's last (odd) column. Whole 16 x 16 tiles go through registers.
BF16_FN static void pack_panel(const uint16_t *W, size_t cols, size_t j0, size_t nr, size_t k0, size_t kp, uint32_t *panel) {
    size_t avail = cols - k0;                     // elements of each row from k0 on
    size_t full = avail / 2 < kp ? avail / 2 : kp;  // whole pairs available
    size_t pt = full & ~(size_t)15;               // pairs covered by whole tiles
    size_t jt = nr & ~(size_t)15;                 // rows covered by whole tiles
    for (size_t jb = 0; jb < jt; jb += 16) {
        for (size_t p = 0; p < pt; p += 16) {
            __m512i r[16];
            for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_si512(W + (j0 + jb + i) * cols + k0 + 2 * p);
            transpose16(r);
            for (int i = 0; i < 16; i++) _mm512_storeu_si512(panel + (p + i) * NR + jb, r[i]);
        }
    }
    for (size_t j = 0; j < NR; j++) {
        size_t p0 = j < jt ? pt : 0;  // what the tiles left of this column
        if (j >= nr) {
            for (size_t p = 0; p < kp; p++) panel[p * NR + j] = 0;
            continue;
        }
        const uint16_t *row = W + (j0 + j) * cols + k0;
        size_t p = p0;
        for (; p < full; p++) {
            uint32_t v;
            memcpy(&v, row + 2 * p, 4);
            panel[p * NR + j] = v;
        }
        if (p < kp && 2 * p < avail) { panel[p * NR + j] = row[2 * p]; p++; }  // odd width: (w, 0)
        for (; p < kp; p++) panel[p * NR + j] = 0;
    }
}

// Block-type weights: rows [j0, j0 + nr) x [k0, k0 + kc) (k0, kc multiples of 32) dequantized to
// bf16 (nearest even) in dst [nr, kc]: the values smol_dequantize_rows gives, d * q in f32 (Q4_1:
// then + m, two roundings as in gguf-py) rounded once to bf16.
BF16_FN static inline void store_bf16x16(uint16_t *dst, __m512 v) {
    _mm256_storeu_si256((__m256i *)dst, (__m256i)_mm512_cvtneps_pbh(v));
}

BF16_FN static void dequant_panel_bf16(const uint8_t *W, smol_dtype dt, size_t cols, size_t j0, size_t nr, size_t k0,
                                       size_t kc, uint16_t *dst) {
    const size_t bb = smol_dtype_block_bytes(dt), rb = smol_dtype_row_bytes(dt, cols), nb = kc / 32;
    const __m128i lo4 = _mm_set1_epi8(0x0F);
    if (smol_dtype_block_size(dt) == 256 || dt == SMOL_Q5_0 || dt == SMOL_Q5_1) {
        // K-quants (kc a multiple of 256 as KC and cols are) and Q5_0/Q5_1: the reference
        // dequantizer, then rounding.
        float tmp[KC];
        for (size_t j = 0; j < nr; j++) {
            if (dt == SMOL_Q4_K_R8) {
                smol_r8k_dequantize_row(W, cols, j0 + j, k0, kc, tmp);
            } else if (dt == SMOL_Q6_K_R8) {
                uint8_t plain6[KC / 256 * 210];
                smol_r8q6_unpack_row(W, cols, j0 + j, k0 / 256, kc / 256, plain6);
                smol_dequantize(SMOL_GGML_Q6_K, plain6, tmp, kc);
            } else {
                smol_dequantize(smol_dtype_ggml(dt), W + (j0 + j) * rb + k0 / smol_dtype_block_size(dt) * bb, tmp, kc);
            }
            for (size_t i = 0; i < kc; i += 16) store_bf16x16(dst + j * kc + i, _mm512_loadu_ps(tmp + i));
        }
        return;
    }
    const smol_dtype stored = dt;
    uint8_t plain[KC / 32 * 20];  // one row's blocks in the plain layout (interleaved types)
    dt = smol_dtype_r8_base(dt);
    for (size_t j = 0; j < nr; j++) {
        const uint8_t *b = W + (j0 + j) * rb + k0 / 32 * bb;
        if (stored != dt) {
            smol_r8_unpack_row(stored, W, cols, j0 + j, k0 / 32, nb, plain);
            b = plain;
        }
        uint16_t *o = dst + j * kc;
        for (size_t i = 0; i < nb; i++, b += bb, o += 32) {
            uint16_t h;
            memcpy(&h, b, 2);
            const __m512 d = _mm512_set1_ps(smol_f16_to_f32(h));
            __m512i q0, q1;
            if (dt == SMOL_Q8_0) {
                q0 = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(b + 2)));
                q1 = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(b + 18)));
            } else {
                __m128i raw = _mm_loadu_si128((const __m128i *)(b + (dt == SMOL_Q4_1 ? 4 : 2)));
                q0 = _mm512_cvtepu8_epi32(_mm_and_si128(raw, lo4));
                q1 = _mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(raw, 4), lo4));
                if (dt == SMOL_Q4_0) {
                    q0 = _mm512_sub_epi32(q0, _mm512_set1_epi32(8));
                    q1 = _mm512_sub_epi32(q1, _mm512_set1_epi32(8));
                }
            }
            __m512 v0 = _mm512_mul_ps(_mm512_cvtepi32_ps(q0), d), v1 = _mm512_mul_ps(_mm512_cvtepi32_ps(q1), d);
            if (dt == SMOL_Q4_1) {
                memcpy(&h, b + 2, 2);
                const __m512 m = _mm512_set1_ps(smol_f16_to_f32(h));
                v0 = _mm512_add_ps(v0, m);
                v1 = _mm512_add_ps(v1, m);
            }
            store_bf16x16(o, v0);
            store_bf16x16(o + 16, v1);
        }
    }
}

static inline __mmask16 lane_mask(size_t valid, size_t v) {
    size_t lo = v * 16;
    if (valid <= lo) return 0;
    size_t n = valid - lo;
    return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

// C[MR_, nr] (+)= A[MR_, 2*kp] * panel, A rows lda elements apart; C rows ldc apart.
#define DEFINE_KERNEL(M)                                                                                   \
    BF16_FN static void kernel_##M(const uint16_t *A, size_t lda, const uint32_t *B, size_t kp, float *C,  \
                                   size_t ldc, size_t nr, int accumulate) {                                \
        __m512 c[M][4];                                                                                    \
        for (int i = 0; i < M; i++)                                                                        \
            for (int v = 0; v < 4; v++) c[i][v] = _mm512_setzero_ps();                                     \
        for (size_t p = 0; p < kp; p++) {                                                                  \
            const uint32_t *b = B + p * NR;                                                                \
            __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 16);     \
            __m512bh b2 = (__m512bh)_mm512_loadu_si512(b + 32), b3 = (__m512bh)_mm512_loadu_si512(b + 48); \
            for (int i = 0; i < M; i++) {                                                                  \
                int32_t pair;                                                                              \
                memcpy(&pair, A + i * lda + 2 * p, 4);                                                     \
                __m512bh a = (__m512bh)_mm512_set1_epi32(pair);                                            \
                c[i][0] = _mm512_dpbf16_ps(c[i][0], a, b0);                                                \
                c[i][1] = _mm512_dpbf16_ps(c[i][1], a, b1);                                                \
                c[i][2] = _mm512_dpbf16_ps(c[i][2], a, b2);                                                \
                c[i][3] = _mm512_dpbf16_ps(c[i][3], a, b3);                                                \
            }                                                                                              \
        }                                                                                                  \
        for (int v = 0; v < 4; v++) {                                                                      \
            __mmask16 m = lane_mask(nr, (size_t)v);                                                        \
            if (!m) break;                                                                                 \
            for (int i = 0; i < M; i++) {                                                                  \
                float *dst = C + i * ldc + v * 16;                                                         \
                __m512 r = c[i][v];                                                                        \
                if (accumulate) r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(m, dst));                       \
                _mm512_mask_storeu_ps(dst, m, r);                                                          \
            }                                                                                              \
        }                                                                                                  \
    }

DEFINE_KERNEL(1)
DEFINE_KERNEL(2)
DEFINE_KERNEL(3)
DEFINE_KERNEL(4)
DEFINE_KERNEL(5)
DEFINE_KERNEL(6)

typedef void (*kernel_fn)(const uint16_t *, size_t, const uint32_t *, size_t, float *, size_t, size_t, int);
static const kernel_fn kernels[MR + 1] = {NULL, kernel_1, kernel_2, kernel_3, kernel_4, kernel_5, kernel_6};

static void gemm_bf16_task(void *p, int ith, int nth) {
    gemm_bf16_ctx *c = p;
    (void)ith; (void)nth;
    // Packed W for one block: NC_MAX columns x KC. Owned by this thread, allocated once.
    static _Thread_local uint32_t *packed = NULL;
    if (!packed) packed = aligned_alloc(64, (size_t)NC_MAX * KC / 2 * sizeof(uint32_t));
    if (!packed) return;
    // One panel of block-type weights dequantized to bf16 before packing: NR x KC.
    static _Thread_local uint16_t *deq = NULL;
    size_t b0, b1;
    while (smol_claim(&c->next, c->blocks_total, 1, &b0, &b1)) {
        int j = 0;
        while (j + 1 < c->njobs && c->job_first_block[j + 1] <= b0) j++;
        const smol_matvec_job *job = &c->jobs[j];
        const uint16_t *W = job->W;
        size_t col0 = (b0 - c->job_first_block[j]) * c->nc;
        size_t ncols = job->rows - col0 < c->nc ? job->rows - col0 : c->nc;
        size_t npanels = (ncols + NR - 1) / NR;
        for (size_t k0 = 0; k0 < c->ldx; k0 += KC) {
            size_t kc = c->ldx - k0 < KC ? c->ldx - k0 : KC;
            size_t kp = kc / 2;
            for (size_t pn = 0; pn < npanels; pn++) {
                size_t nr = ncols - pn * NR < NR ? ncols - pn * NR : NR;
                if (smol_dtype_is_quant(job->dtype)) {
                    if (!deq) deq = aligned_alloc(64, (size_t)NR * KC * sizeof(uint16_t));
                    if (!deq) return;
                    dequant_panel_bf16(job->W, job->dtype, c->cols, col0 + pn * NR, nr, k0, kc, deq);
                    pack_panel(deq, kc, 0, nr, 0, kp, packed + pn * NR * kp);
                } else {
                    pack_panel(W, c->cols, col0 + pn * NR, nr, k0, kp, packed + pn * NR * kp);
                }
            }
            for (size_t i0 = 0; i0 < c->n; i0 += MR) {
                size_t mr = c->n - i0 < MR ? c->n - i0 : MR;
                const uint16_t *A = c->xb + i0 * c->ldx + k0;
                for (size_t pn = 0; pn < npanels; pn++) {
                    size_t nr = ncols - pn * NR < NR ? ncols - pn * NR : NR;
                    float *C = job->y + i0 * job->rows + col0 + pn * NR;
                    kernels[mr](A, c->ldx, packed + pn * NR * kp, kp, C, job->rows, nr, k0 > 0);
                }
            }
        }
    }
}

typedef struct {
    const float *x;
    uint16_t *xb;
    size_t n, cols, ldx;
    _Atomic size_t next;
} round_ctx;

// X rows to bf16 (round to nearest even), zero-padded to ldx.
static void round_task(void *p, int ith, int nth) {
    round_ctx *c = p;
    (void)ith; (void)nth;
    size_t r0, r1;
    while (smol_claim(&c->next, c->n, 8, &r0, &r1))
    for (size_t r = r0; r < r1; r++) {
        uint16_t *d = c->xb + r * c->ldx;
        smol_round_bf16_avx512(c->x + r * c->cols, d, c->cols);
        for (size_t i = c->cols; i < c->ldx; i++) d[i] = 0;
    }
}

int smol_gemm_bf16_multi(smol_pool *pool, const smol_matvec_job *jobs, int njobs, const float *X, size_t n,
                         size_t cols) {
    if (smol_isa_active() < SMOL_ISA_AVX512_BF16 || njobs < 1 || njobs > 16 || n == 0) return 0;
    for (int j = 0; j < njobs; j++) {
        if (jobs[j].dtype == SMOL_F32 || jobs[j].dtype == SMOL_F16) return 0;
        if (smol_dtype_is_quant(jobs[j].dtype) && (cols % smol_dtype_block_size(jobs[j].dtype) != 0 || KC % 256 != 0)) return 0;
    }
    size_t ldx = (cols + 1) & ~(size_t)1;
    // X in bf16: the calling thread's buffer, grown and kept (prefill allocates once).
    static _Thread_local void *xb_buf = NULL;
    static _Thread_local size_t xb_cap = 0;
    uint16_t *xb = smol_grow(&xb_buf, &xb_cap, n * ldx * sizeof(uint16_t));
    if (!xb) return 0;
    round_ctx rc = {X, xb, n, cols, ldx, 0};
    smol_pool_run(pool, round_task, &rc);

    gemm_bf16_ctx c;
    memset(&c, 0, sizeof c);
    c.jobs = jobs;
    c.njobs = njobs;
    c.xb = xb;
    c.n = n;
    c.cols = cols;
    c.ldx = ldx;
    // Column blocks: about 4 per thread over all jobs, NR..NC_MAX wide.
    size_t total = 0;
    for (int j = 0; j < njobs; j++) total += jobs[j].rows;
    size_t nth = (size_t)smol_pool_size(pool);
    size_t nc = total / (nth * 4);
    nc = (nc + NR - 1) / NR * NR;
    if (nc < NR) nc = NR;
    if (nc > NC_MAX) nc = NC_MAX;
    c.nc = nc;
    for (int j = 0; j < njobs; j++) {
        c.job_first_block[j] = c.blocks_total;
        c.blocks_total += (jobs[j].rows + nc - 1) / nc;
    }
    c.job_first_block[njobs] = c.blocks_total;
    smol_pool_run(pool, gemm_bf16_task, &c);
    return 1;
}
#else
int smol_gemm_bf16_multi(smol_pool *pool, const smol_matvec_job *jobs, int njobs, const float *X, size_t n,
                         size_t cols) {
    (void)pool; (void)jobs; (void)njobs; (void)X; (void)n; (void)cols;
    return 0;
}
#endif
