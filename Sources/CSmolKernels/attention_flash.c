// Prefill attention, flash-style on AVX-512: causal, grouped KV heads, K/V read in their stored
// type (f32 or bf16), no score matrix beyond one 64-key block per work item.
//
//   1. K of every kv head is transposed once per call into Kt [n_kv][d][len64] (f32, zero-padded
//      to whole 64-key blocks), so a score block is an outer product: per dimension, one
//      broadcast of q and 4 zmm of keys.
//   2. A work item is (kv head, block of QB queries): its rows are those queries x the group's
//      query heads (R = QB * group <= 64), so each K/V block is read once per group, from L1/L2.
//   3. Per 64-key block: S = scale * Q Kt (6 rows x 64 keys per micro-kernel, 24 zmm), causal
//      mask, online softmax (running max and sum per row, O rescaled when the max grows), then
//      O += P V (rows x d in zmm accumulators, V rows widened from bf16 as they load).
// Cost per token is linear in the context; memory per thread is O(64 * (d + 64)).
#include "smol_kernels.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX512_FN __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

enum { KB = 64, RMAX = 64, DMAX = 256 };

static inline __mmask16 mask_of(size_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

// 16 values of a K/V row (f32 or bf16) as f32, masked.
AVX512_FN static inline __m512 load_kv(const void *base, smol_dtype dt, size_t i, __mmask16 m) {
    if (dt == SMOL_BF16) {
        __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)base + i);
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    return _mm512_maskz_loadu_ps(m, (const float *)base + i);
}

typedef struct {
    const float *q;
    const void *kc, *vc;
    smol_dtype dt;
    float *out, *kt;
    size_t nq, pos0, n_heads, n_kv, d, stride, len64, qb, nqb;
    float scale;
    _Atomic size_t next;
} flash_ctx;

// Kt[h][i][j] = K[h][j][i] for 16 x 16 tiles (scalar inner loop over a tile stays in L1).
static void transpose_task(void *p, int ith, int nth) {
    flash_ctx *c = p;
    (void)ith; (void)nth;
    size_t len = c->pos0 + c->nq, blocks = c->len64 / KB, b0, b1;
    while (smol_claim(&c->next, c->n_kv * blocks, 1, &b0, &b1))
    for (size_t b = b0; b < b1; b++) {
        size_t h = b / blocks, j0 = (b % blocks) * KB;
        float *kt = c->kt + h * c->d * c->len64;
        for (size_t j = j0; j < j0 + KB; j++) {
            if (j >= len) {
                for (size_t i = 0; i < c->d; i++) kt[i * c->len64 + j] = 0;
                continue;
            }
            size_t off = (h * c->stride + j) * c->d;
            if (c->dt == SMOL_BF16) {
                const uint16_t *k = (const uint16_t *)c->kc + off;
                for (size_t i = 0; i < c->d; i++) kt[i * c->len64 + j] = smol_bf16_to_f32(k[i]);
            } else {
                const float *k = (const float *)c->kc + off;
                for (size_t i = 0; i < c->d; i++) kt[i * c->len64 + j] = k[i];
            }
        }
    }
}

// S[r][0..64) = scale * sum_i Q[r][i] * Kt[i][j0 + 0..64), for M rows.
#define DEFINE_SCORES(M)                                                                          \
    AVX512_FN static void scores_##M(const float *const *qrows, const float *kt, size_t ldk, size_t d, \
                                     float scale, float *S) {                                     \
        __m512 c[M][4];                                                                           \
        for (int r = 0; r < M; r++)                                                               \
            for (int v = 0; v < 4; v++) c[r][v] = _mm512_setzero_ps();                            \
        for (size_t i = 0; i < d; i++) {                                                          \
            const float *k = kt + i * ldk;                                                        \
            __m512 k0 = _mm512_loadu_ps(k), k1 = _mm512_loadu_ps(k + 16);                         \
            __m512 k2 = _mm512_loadu_ps(k + 32), k3 = _mm512_loadu_ps(k + 48);                    \
            for (int r = 0; r < M; r++) {                                                         \
                __m512 a = _mm512_set1_ps(qrows[r][i]);                                           \
                c[r][0] = _mm512_fmadd_ps(a, k0, c[r][0]);                                        \
                c[r][1] = _mm512_fmadd_ps(a, k1, c[r][1]);                                        \
                c[r][2] = _mm512_fmadd_ps(a, k2, c[r][2]);                                        \
                c[r][3] = _mm512_fmadd_ps(a, k3, c[r][3]);                                        \
            }                                                                                     \
        }                                                                                         \
        __m512 s = _mm512_set1_ps(scale);                                                         \
        for (int r = 0; r < M; r++)                                                               \
            for (int v = 0; v < 4; v++) _mm512_storeu_ps(S + r * KB + v * 16, _mm512_mul_ps(c[r][v], s)); \
    }
DEFINE_SCORES(1)
DEFINE_SCORES(2)
DEFINE_SCORES(3)
DEFINE_SCORES(4)
DEFINE_SCORES(5)
DEFINE_SCORES(6)
typedef void (*scores_fn)(const float *const *, const float *, size_t, size_t, float, float *);
static const scores_fn scores_k[7] = {NULL, scores_1, scores_2, scores_3, scores_4, scores_5, scores_6};

// O[r][0..d) += sum_j P[r][j] * V[j][0..d) over nk keys, for M rows; NV = ceil(d / 16) vectors.
#define DEFINE_PV(NV, M)                                                                          \
    AVX512_FN static void pv_##NV##_##M(const float *P, const void *V, smol_dtype dt, size_t d, size_t nk, \
                                        float *O) {                                               \
        __m512 acc[M][NV];                                                                        \
        __mmask16 last = mask_of(d - (NV - 1) * 16);                                              \
        for (int r = 0; r < M; r++)                                                               \
            for (int v = 0; v < NV; v++)                                                          \
                acc[r][v] = _mm512_maskz_loadu_ps(v == NV - 1 ? last : 0xFFFF, O + r * d + v * 16); \
        for (size_t j = 0; j < nk; j++) {                                                         \
            __m512 vv[NV];                                                                        \
            for (int v = 0; v < NV; v++) vv[v] = load_kv(V, dt, j * d + v * 16, v == NV - 1 ? last : 0xFFFF); \
            for (int r = 0; r < M; r++) {                                                         \
                __m512 p = _mm512_set1_ps(P[r * KB + j]);                                         \
                for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(p, vv[v], acc[r][v]);    \
            }                                                                                     \
        }                                                                                         \
        for (int r = 0; r < M; r++)                                                               \
            for (int v = 0; v < NV; v++)                                                          \
                _mm512_mask_storeu_ps(O + r * d + v * 16, v == NV - 1 ? last : 0xFFFF, acc[r][v]); \
    }
// Rows per call: as many as keep M * NV <= 24 accumulators (plus NV for V) in registers.
DEFINE_PV(1, 8) DEFINE_PV(2, 8) DEFINE_PV(3, 6) DEFINE_PV(4, 5) DEFINE_PV(5, 4)
DEFINE_PV(6, 3) DEFINE_PV(7, 3) DEFINE_PV(8, 2)
DEFINE_PV(9, 2) DEFINE_PV(10, 2) DEFINE_PV(11, 1) DEFINE_PV(12, 1) DEFINE_PV(13, 1) DEFINE_PV(14, 1) DEFINE_PV(15, 1)
DEFINE_PV(16, 1)
typedef void (*pv_fn)(const float *, const void *, smol_dtype, size_t, size_t, float *);
static const pv_fn pv_k[17] = {NULL, pv_1_8, pv_2_8, pv_3_6, pv_4_5, pv_5_4, pv_6_3, pv_7_3, pv_8_2,
                               pv_9_2, pv_10_2, pv_11_1, pv_12_1, pv_13_1, pv_14_1, pv_15_1, pv_16_1};
static const int pv_rows[17] = {0, 8, 8, 6, 5, 4, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1};

AVX512_FN static void flash_task(void *p, int ith, int nth) {
    flash_ctx *c = p;
    (void)ith; (void)nth;
    size_t group = c->n_heads / c->n_kv, d = c->d, nv = (d + 15) / 16;
    size_t es = c->dt == SMOL_BF16 ? 2 : 4;
    // Per-thread block state (S, O: 80 KB), allocated once per thread, off the stack.
    static _Thread_local float *state = NULL;
    if (!state) state = aligned_alloc(64, (RMAX * KB + RMAX * DMAX) * sizeof(float));
    if (!state) return;
    float *S = state, *O = state + RMAX * KB, m[RMAX], l[RMAX];
    const float *qrows[RMAX];
    size_t it0, it1, items = c->n_kv * c->nqb;
    while (smol_claim(&c->next, items, 1, &it0, &it1))
    for (size_t it = it0; it < it1; it++) {
        // Longest items (last query blocks) first, so the tail is short.
        size_t inv = items - 1 - it, kvh = inv % c->n_kv, qblk = inv / c->n_kv;
        size_t t0 = qblk * c->qb, nt = c->nq - t0 < c->qb ? c->nq - t0 : c->qb, R = nt * group;
        for (size_t t = 0; t < nt; t++)
            for (size_t g = 0; g < group; g++)
                qrows[t * group + g] = c->q + ((t0 + t) * c->n_heads + kvh * group + g) * d;
        for (size_t r = 0; r < R; r++) { m[r] = -INFINITY; l[r] = 0; }
        memset(O, 0, R * d * sizeof(float));
        const float *kt = c->kt + kvh * d * c->len64;
        const char *V = (const char *)c->vc + kvh * c->stride * d * es;
        size_t last = c->pos0 + t0 + nt;  // keys needed by the block's last query
        for (size_t j0 = 0; j0 < last; j0 += KB) {
            size_t nk = last - j0 < KB ? last - j0 : KB;
            for (size_t r = 0; r < R; r += 6) {
                size_t mr = R - r < 6 ? R - r : 6;
                scores_k[mr](qrows + r, kt + j0, c->len64, d, c->scale, S + r * KB);
            }
            // Causal mask, online softmax; P overwrites S.
            for (size_t r = 0; r < R; r++) {
                size_t valid = c->pos0 + t0 + r / group + 1;  // keys 0 ..= own position
                size_t nvld = valid <= j0 ? 0 : (valid - j0 < nk ? valid - j0 : nk);
                float *s = S + r * KB;
                __m512 mx = _mm512_set1_ps(-INFINITY);
                for (size_t v = 0; v < KB; v += 16) {
                    __mmask16 mk = mask_of(nvld > v ? nvld - v : 0);
                    mx = _mm512_mask_max_ps(mx, mk, mx, _mm512_loadu_ps(s + v));
                }
                float bm = _mm512_reduce_max_ps(mx);
                float mnew = bm > m[r] ? bm : m[r];
                if (nvld == 0 || mnew == -INFINITY) {
                    memset(s, 0, KB * sizeof(float));
                    continue;
                }
                float corr = m[r] == -INFINITY ? 0.0f : expf(m[r] - mnew);
                __m512 vm = _mm512_set1_ps(mnew), sum = _mm512_setzero_ps();
                for (size_t v = 0; v < KB; v += 16) {
                    __mmask16 mk = mask_of(nvld > v ? nvld - v : 0);
                    __m512 e = _mm512_maskz_mov_ps(mk, smol_exp16(_mm512_sub_ps(_mm512_loadu_ps(s + v), vm)));
                    _mm512_storeu_ps(s + v, e);
                    sum = _mm512_add_ps(sum, e);
                }
                l[r] = l[r] * corr + _mm512_reduce_add_ps(sum);
                m[r] = mnew;
                if (corr != 1.0f) {
                    __m512 cv = _mm512_set1_ps(corr);
                    for (size_t v = 0; v < d; v += 16) {
                        __mmask16 mk = mask_of(d - v);
                        _mm512_mask_storeu_ps(O + r * d + v, mk, _mm512_mul_ps(cv, _mm512_maskz_loadu_ps(mk, O + r * d + v)));
                    }
                }
            }
            const char *Vb = V + j0 * d * es;
            int rows = pv_rows[nv];
            for (size_t r = 0; r < R; r += (size_t)rows) {
                if (R - r >= (size_t)rows) {
                    pv_k[nv](S + r * KB, Vb, c->dt, d, nk, O + r * d);
                } else {
                    for (size_t rr = r; rr < R; rr++) {  // remainder rows, one at a time
                        float tmpS[KB], *o = O + rr * d;
                        memcpy(tmpS, S + rr * KB, sizeof tmpS);
                        for (size_t j = 0; j < nk; j++) {
                            __m512 pj = _mm512_set1_ps(tmpS[j]);
                            for (size_t v = 0; v < d; v += 16) {
                                __mmask16 mk = mask_of(d - v);
                                __m512 acc = _mm512_maskz_loadu_ps(mk, o + v);
                                acc = _mm512_fmadd_ps(pj, load_kv(Vb, c->dt, j * d + v, mk), acc);
                                _mm512_mask_storeu_ps(o + v, mk, acc);
                            }
                        }
                    }
                    break;
                }
            }
        }
        for (size_t t = 0; t < nt; t++)
            for (size_t g = 0; g < group; g++) {
                size_t r = t * group + g;
                float inv_l = 1.0f / l[r];
                float *o = c->out + ((t0 + t) * c->n_heads + kvh * group + g) * d;
                for (size_t i = 0; i < d; i++) o[i] = O[r * d + i] * inv_l;
            }
    }
}

int smol_attention_flash(smol_pool *pool, const float *q, const void *kc, const void *vc, smol_dtype kv_dt,
                         float *out, size_t nq, size_t pos0, size_t n_heads, size_t n_kv, size_t d, size_t stride,
                         float scale) {
    if (smol_isa_active() < SMOL_ISA_AVX512 || nq == 0 || n_kv == 0 || n_heads % n_kv || d == 0 || d > DMAX ||
        n_heads / n_kv > RMAX || (kv_dt != SMOL_F32 && kv_dt != SMOL_BF16))
        return 0;
    size_t group = n_heads / n_kv, len = pos0 + nq, len64 = (len + KB - 1) / KB * KB;
    // Kt: the calling thread's buffer, grown and kept.
    static _Thread_local void *buf = NULL;
    static _Thread_local size_t cap = 0;
    float *kt = smol_grow(&buf, &cap, n_kv * d * len64 * sizeof(float));
    if (!kt) return 0;
    flash_ctx c;
    memset(&c, 0, sizeof c);
    c.q = q; c.kc = kc; c.vc = vc; c.dt = kv_dt; c.out = out; c.kt = kt;
    c.nq = nq; c.pos0 = pos0; c.n_heads = n_heads; c.n_kv = n_kv; c.d = d; c.stride = stride; c.len64 = len64;
    c.scale = scale;
    c.qb = RMAX / group;
    c.nqb = (nq + c.qb - 1) / c.qb;
    smol_pool_run(pool, transpose_task, &c);
    atomic_store(&c.next, 0);
    smol_pool_run(pool, flash_task, &c);
    return 1;
}
#else
int smol_attention_flash(smol_pool *pool, const float *q, const void *kc, const void *vc, smol_dtype kv_dt,
                         float *out, size_t nq, size_t pos0, size_t n_heads, size_t n_kv, size_t d, size_t stride,
                         float scale) {
    (void)pool; (void)q; (void)kc; (void)vc; (void)kv_dt; (void)out; (void)nq; (void)pos0; (void)n_heads;
    (void)n_kv; (void)d; (void)stride; (void)scale;
    return 0;
}
#endif
