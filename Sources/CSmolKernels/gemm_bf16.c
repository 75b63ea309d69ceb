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

// Packs W[j0 .. j0+nr) x [k0, k0 + 2*kp) into panel[p][0..NR) (32-bit pairs), zero beyond nr
// columns and beyond the matrix's last (odd) column.
static void pack_panel(const uint16_t *W, size_t cols, size_t j0, size_t nr, size_t k0, size_t kp, uint32_t *panel) {
    for (size_t j = 0; j < NR; j++) {
        if (j >= nr) {
            for (size_t p = 0; p < kp; p++) panel[p * NR + j] = 0;
            continue;
        }
        const uint16_t *row = W + (j0 + j) * cols + k0;
        size_t avail = cols - k0;  // elements of this row from k0 on
        size_t full = avail / 2 < kp ? avail / 2 : kp;
        size_t p = 0;
        for (; p < full; p++) {
            uint32_t v;
            memcpy(&v, row + 2 * p, 4);
            panel[p * NR + j] = v;
        }
        if (p < kp && 2 * p < avail) { panel[p * NR + j] = row[2 * p]; p++; }  // odd width: (w, 0)
        for (; p < kp; p++) panel[p * NR + j] = 0;
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
                pack_panel(W, c->cols, col0 + pn * NR, nr, k0, kp, packed + pn * NR * kp);
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
BF16_FN static void round_task(void *p, int ith, int nth) {
    round_ctx *c = p;
    (void)ith; (void)nth;
    size_t r0, r1;
    while (smol_claim(&c->next, c->n, 8, &r0, &r1))
    for (size_t r = r0; r < r1; r++) {
        const float *x = c->x + r * c->cols;
        uint16_t *d = c->xb + r * c->ldx;
        size_t i = 0;
        for (; i + 16 <= c->cols; i += 16)
            _mm256_storeu_si256((__m256i *)(d + i), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + i)));
        for (; i < c->cols; i++) d[i] = smol_f32_to_bf16(x[i]);
        for (; i < c->ldx; i++) d[i] = 0;
    }
}

int smol_gemm_bf16_multi(smol_pool *pool, const smol_matvec_job *jobs, int njobs, const float *X, size_t n,
                         size_t cols) {
    if (smol_isa_active() < SMOL_ISA_AVX512_BF16 || njobs < 1 || njobs > 16 || n == 0) return 0;
    for (int j = 0; j < njobs; j++)
        if (jobs[j].dtype != SMOL_BF16) return 0;
    size_t ldx = (cols + 1) & ~(size_t)1;
    // X in bf16: the calling thread's buffer, grown and kept (prefill allocates once).
    static _Thread_local uint16_t *xb = NULL;
    static _Thread_local size_t xb_cap = 0;
    if (xb_cap < n * ldx) {
        uint16_t *grown = realloc(xb, n * ldx * sizeof(uint16_t));
        if (!grown) return 0;
        xb = grown;
        xb_cap = n * ldx;
    }
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
