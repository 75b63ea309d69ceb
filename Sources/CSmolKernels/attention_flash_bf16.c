// Prefill attention with bf16 dot products (AVX512_BF16), meant for --precision bf16 over a bf16 KV
// cache: the blocking of attention_flash.c (64-key blocks, one K/V block read per GQA group,
// online softmax in f32), with both products on vdpbf16ps, two bf16 pairs per lane:
//
//   S = scale * Q K^T   q rounded to bf16 (nearest even); K is bf16 in the cache already.
//                       Kp [n_kv][d/2][len64] holds K's (dim 2i, 2i+1) pairs key by key, so a
//                       zmm is 16 keys x one dim pair and a score block is 4 zmm per dim pair.
//   O += P V            P rounded to bf16 (the softmax numerators, in [0, 1]); Vp [n_kv][len64/2][d]
//                       holds V's (key 2j, 2j+1) pairs dim by dim, so a zmm is 16 dims x a key pair.
//
// That is half the instructions of the f32 kernels, with f32 accumulation, as a bf16 SDPA does;
// the f32 path (attention_flash.c) stays the exact one. Kp/Vp are built once per call (len * d
// * 4 bytes per kv head, the size of the f32 Kt the f32 path builds).
//
// Not wired into the model yet: a prompt token must get the same bits in a long chunk, as the
// one-token remainder after a prefix-cache hit, and decoded (forward([t]) is decode), while
// decode attention is f32 and packing Kp/Vp per decode step costs more than the attention. The
// way there is a cache that keeps K and V in these pair layouts as it stores them, with decode
// on the same kernel.
#include "smol_kernels.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define BF16_FN __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,fma")))

enum { KB = 64, RMAX = 64, DMAX = 256 };

static inline __mmask16 mask_of(size_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

typedef struct {
    const float *q;
    const uint16_t *kc, *vc;
    float *out;
    uint32_t *kp, *vp;  // [n_kv][d/2][len64], [n_kv][len64/2][d] bf16 pairs
    size_t nq, pos0, n_heads, n_kv, d, stride, len64, qb, nqb;
    float scale;
    _Atomic size_t next;
} flashb_ctx;

// One 64-key block of one kv head into Kp and Vp (zeros past the last key).
static void pack_task(void *p, int ith, int nth) {
    flashb_ctx *c = p;
    (void)ith; (void)nth;
    const size_t len = c->pos0 + c->nq, blocks = c->len64 / KB, d2 = c->d / 2;
    size_t b0, b1;
    while (smol_claim(&c->next, c->n_kv * blocks, 1, &b0, &b1))
        for (size_t b = b0; b < b1; b++) {
            const size_t h = b / blocks, j0 = (b % blocks) * KB;
            uint32_t *kp = c->kp + h * d2 * c->len64, *vp = c->vp + h * (c->len64 / 2) * c->d;
            for (size_t j = j0; j < j0 + KB; j++) {
                const uint32_t *k = (const uint32_t *)(c->kc + (h * c->stride + j) * c->d);
                for (size_t i = 0; i < d2; i++) kp[i * c->len64 + j] = j < len ? k[i] : 0;
            }
            for (size_t jp = j0 / 2; jp < (j0 + KB) / 2; jp++) {
                const uint16_t *v0 = c->vc + (h * c->stride + 2 * jp) * c->d, *v1 = v0 + c->d;
                const int has0 = 2 * jp < len, has1 = 2 * jp + 1 < len;
                uint32_t *o = vp + jp * c->d;
                for (size_t i = 0; i < c->d; i++) o[i] = (has0 ? v0[i] : 0) | (uint32_t)(has1 ? v1[i] : 0) << 16;
            }
        }
}

// S[r][0..64) = scale * sum over dim pairs of q2[r] . Kp, for M rows (q2: bf16 pairs, d/2 each).
#define DEFINE_SCORES_BF16(M)                                                                              \
    BF16_FN static void scoresb_##M(const uint32_t *q2, size_t d2, const uint32_t *kp, size_t ldk, float scale, \
                                    float *S) {                                                            \
        __m512 c[M][4];                                                                                    \
        for (int r = 0; r < M; r++)                                                                        \
            for (int v = 0; v < 4; v++) c[r][v] = _mm512_setzero_ps();                                     \
        for (size_t i = 0; i < d2; i++) {                                                                  \
            const uint32_t *k = kp + i * ldk;                                                              \
            const __m512bh k0 = (__m512bh)_mm512_loadu_si512(k), k1 = (__m512bh)_mm512_loadu_si512(k + 16); \
            const __m512bh k2 = (__m512bh)_mm512_loadu_si512(k + 32), k3 = (__m512bh)_mm512_loadu_si512(k + 48); \
            for (int r = 0; r < M; r++) {                                                                  \
                const __m512bh a = (__m512bh)_mm512_set1_epi32((int)q2[r * d2 + i]);                       \
                c[r][0] = _mm512_dpbf16_ps(c[r][0], a, k0);                                                \
                c[r][1] = _mm512_dpbf16_ps(c[r][1], a, k1);                                                \
                c[r][2] = _mm512_dpbf16_ps(c[r][2], a, k2);                                                \
                c[r][3] = _mm512_dpbf16_ps(c[r][3], a, k3);                                                \
            }                                                                                              \
        }                                                                                                  \
        const __m512 s = _mm512_set1_ps(scale);                                                            \
        for (int r = 0; r < M; r++)                                                                        \
            for (int v = 0; v < 4; v++) _mm512_storeu_ps(S + r * KB + v * 16, _mm512_mul_ps(c[r][v], s));  \
    }
DEFINE_SCORES_BF16(1)
DEFINE_SCORES_BF16(2)
DEFINE_SCORES_BF16(3)
DEFINE_SCORES_BF16(4)
DEFINE_SCORES_BF16(5)
DEFINE_SCORES_BF16(6)
typedef void (*scoresb_fn)(const uint32_t *, size_t, const uint32_t *, size_t, float, float *);
static const scoresb_fn scoresb_k[7] = {NULL, scoresb_1, scoresb_2, scoresb_3, scoresb_4, scoresb_5, scoresb_6};

// O[r][0..d) += sum over key pairs of P2[r][jp] . Vp[jp][0..d), for M rows; NV = ceil(d / 16).
#define DEFINE_PV_BF16(NV, M)                                                                              \
    BF16_FN static void pvb_##NV##_##M(const uint32_t *P2, const uint32_t *vp, size_t d, size_t np, float *O) { \
        __m512 acc[M][NV];                                                                                 \
        const __mmask16 last = mask_of(d - (NV - 1) * 16);                                                 \
        for (int r = 0; r < M; r++)                                                                        \
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_maskz_loadu_ps(v == NV - 1 ? last : 0xFFFF, O + r * d + v * 16); \
        for (size_t jp = 0; jp < np; jp++) {                                                               \
            __m512bh vv[NV];                                                                               \
            for (int v = 0; v < NV; v++)                                                                   \
                vv[v] = (__m512bh)_mm512_maskz_loadu_epi32(v == NV - 1 ? last : 0xFFFF, vp + jp * d + v * 16); \
            for (int r = 0; r < M; r++) {                                                                  \
                const __m512bh pp = (__m512bh)_mm512_set1_epi32((int)P2[r * (KB / 2) + jp]);               \
                for (int v = 0; v < NV; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], pp, vv[v]);           \
            }                                                                                              \
        }                                                                                                  \
        for (int r = 0; r < M; r++)                                                                        \
            for (int v = 0; v < NV; v++) _mm512_mask_storeu_ps(O + r * d + v * 16, v == NV - 1 ? last : 0xFFFF, acc[r][v]); \
    }
#define DEFINE_PV_BF16_PAIR(NV, M) DEFINE_PV_BF16(NV, M) DEFINE_PV_BF16(NV, 1)
DEFINE_PV_BF16_PAIR(1, 8) DEFINE_PV_BF16_PAIR(2, 8) DEFINE_PV_BF16_PAIR(3, 6) DEFINE_PV_BF16_PAIR(4, 5)
DEFINE_PV_BF16_PAIR(5, 4) DEFINE_PV_BF16_PAIR(6, 3) DEFINE_PV_BF16_PAIR(7, 3) DEFINE_PV_BF16_PAIR(8, 2)
DEFINE_PV_BF16_PAIR(9, 2) DEFINE_PV_BF16_PAIR(10, 2)
DEFINE_PV_BF16(11, 1) DEFINE_PV_BF16(12, 1) DEFINE_PV_BF16(13, 1) DEFINE_PV_BF16(14, 1) DEFINE_PV_BF16(15, 1)
DEFINE_PV_BF16(16, 1)
typedef void (*pvb_fn)(const uint32_t *, const uint32_t *, size_t, size_t, float *);
static const pvb_fn pvb_k[17] = {NULL, pvb_1_8, pvb_2_8, pvb_3_6, pvb_4_5, pvb_5_4, pvb_6_3, pvb_7_3, pvb_8_2,
                                 pvb_9_2, pvb_10_2, pvb_11_1, pvb_12_1, pvb_13_1, pvb_14_1, pvb_15_1, pvb_16_1};
static const pvb_fn pvb_one[17] = {NULL, pvb_1_1, pvb_2_1, pvb_3_1, pvb_4_1, pvb_5_1, pvb_6_1, pvb_7_1, pvb_8_1,
                                   pvb_9_1, pvb_10_1, pvb_11_1, pvb_12_1, pvb_13_1, pvb_14_1, pvb_15_1, pvb_16_1};
static const int pvb_rows[17] = {0, 8, 8, 6, 5, 4, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1};

BF16_FN static void flashb_task(void *p, int ith, int nth) {
    flashb_ctx *c = p;
    (void)ith; (void)nth;
    const size_t group = c->n_heads / c->n_kv, d = c->d, d2 = d / 2, nv = (d + 15) / 16;
    // Per-thread state: S (f32 scores, then P), P2 (P as bf16 pairs), O, the block's q as bf16 pairs.
    static _Thread_local void *state = NULL;
    if (!state) state = aligned_alloc(64, (RMAX * KB + RMAX * KB / 2 + RMAX * DMAX + RMAX * DMAX / 2) * sizeof(float));
    if (!state) return;
    float *S = state, *O = S + RMAX * KB + RMAX * KB / 2, m[RMAX], l[RMAX];
    uint32_t *P2 = (uint32_t *)(S + RMAX * KB), *Q2 = (uint32_t *)(O + RMAX * DMAX);
    size_t it0, it1, items = c->n_kv * c->nqb;
    while (smol_claim(&c->next, items, 1, &it0, &it1))
        for (size_t it = it0; it < it1; it++) {
            const size_t inv = items - 1 - it, kvh = inv % c->n_kv, qblk = inv / c->n_kv;
            const size_t t0 = qblk * c->qb, nt = c->nq - t0 < c->qb ? c->nq - t0 : c->qb, R = nt * group;
            for (size_t t = 0; t < nt; t++)
                for (size_t g = 0; g < group; g++) {
                    const float *q = c->q + ((t0 + t) * c->n_heads + kvh * group + g) * d;
                    smol_round_bf16_avx512(q, (uint16_t *)(Q2 + (t * group + g) * d2), d);
                }
            for (size_t r = 0; r < R; r++) { m[r] = -INFINITY; l[r] = 0; }
            memset(O, 0, R * d * sizeof(float));
            const uint32_t *kp = c->kp + kvh * d2 * c->len64, *vp = c->vp + kvh * (c->len64 / 2) * d;
            const size_t last = c->pos0 + t0 + nt;
            for (size_t j0 = 0; j0 < last; j0 += KB) {
                const size_t nk = last - j0 < KB ? last - j0 : KB, np = (nk + 1) / 2;
                for (size_t r = 0; r < R; r += 6) {
                    const size_t mr = R - r < 6 ? R - r : 6;
                    scoresb_k[mr](Q2 + r * d2, d2, kp + j0, c->len64, c->scale, S + r * KB);
                }
                // Causal mask and online softmax, as attention_flash.c; P to bf16 pairs.
                for (size_t r = 0; r < R; r++) {
                    const size_t valid = c->pos0 + t0 + r / group + 1;
                    const size_t nvld = valid <= j0 ? 0 : (valid - j0 < nk ? valid - j0 : nk);
                    float *s = S + r * KB;
                    __m512 mx = _mm512_set1_ps(-INFINITY);
                    for (size_t v = 0; v < KB; v += 16) mx = _mm512_mask_max_ps(mx, mask_of(nvld > v ? nvld - v : 0), mx, _mm512_loadu_ps(s + v));
                    const float bm = _mm512_reduce_max_ps(mx), mnew = bm > m[r] ? bm : m[r];
                    if (nvld == 0 || mnew == -INFINITY) {
                        memset(P2 + r * (KB / 2), 0, KB / 2 * sizeof(uint32_t));
                        continue;
                    }
                    const float corr = m[r] == -INFINITY ? 0.0f : expf(m[r] - mnew);
                    const __m512 vm = _mm512_set1_ps(mnew);
                    __m512 sum = _mm512_setzero_ps(), e[4];
                    for (int v = 0; v < 4; v++) {
                        const __mmask16 mk = mask_of(nvld > (size_t)v * 16 ? nvld - (size_t)v * 16 : 0);
                        e[v] = _mm512_maskz_mov_ps(mk, smol_exp16(_mm512_sub_ps(_mm512_loadu_ps(s + 16 * v), vm)));
                        sum = _mm512_add_ps(sum, e[v]);
                    }
                    // The sum is of the f32 numerators, as the f32 path's; P V takes them rounded.
                    _mm512_storeu_si512(P2 + r * (KB / 2), (__m512i)_mm512_cvtne2ps_pbh(e[1], e[0]));
                    _mm512_storeu_si512(P2 + r * (KB / 2) + 16, (__m512i)_mm512_cvtne2ps_pbh(e[3], e[2]));
                    l[r] = l[r] * corr + _mm512_reduce_add_ps(sum);
                    m[r] = mnew;
                    if (corr != 1.0f) {
                        const __m512 cv = _mm512_set1_ps(corr);
                        for (size_t v = 0; v < d; v += 16) {
                            const __mmask16 mk = mask_of(d - v);
                            _mm512_mask_storeu_ps(O + r * d + v, mk, _mm512_mul_ps(cv, _mm512_maskz_loadu_ps(mk, O + r * d + v)));
                        }
                    }
                }
                const uint32_t *vb = vp + (j0 / 2) * d;
                const size_t rows = (size_t)pvb_rows[nv];
                size_t r = 0;
                for (; r + rows <= R; r += rows) pvb_k[nv](P2 + r * (KB / 2), vb, d, np, O + r * d);
                for (; r < R; r++) pvb_one[nv](P2 + r * (KB / 2), vb, d, np, O + r * d);
            }
            for (size_t t = 0; t < nt; t++)
                for (size_t g = 0; g < group; g++) {
                    const size_t r = t * group + g;
                    const float inv_l = 1.0f / l[r];
                    float *o = c->out + ((t0 + t) * c->n_heads + kvh * group + g) * d;
                    for (size_t i = 0; i < d; i++) o[i] = O[r * d + i] * inv_l;
                }
        }
}

int smol_attention_flash_bf16(smol_pool *pool, const float *q, const void *kc, const void *vc, smol_dtype kv_dt,
                              float *out, size_t nq, size_t pos0, size_t n_heads, size_t n_kv, size_t d, size_t stride,
                              float scale) {
    if (smol_isa_active() < SMOL_ISA_AVX512_BF16 || kv_dt != SMOL_BF16 || nq == 0 || n_kv == 0 || n_heads % n_kv ||
        d == 0 || d % 2 || d > DMAX || n_heads / n_kv > RMAX)
        return 0;
    const size_t group = n_heads / n_kv, len = pos0 + nq, len64 = (len + KB - 1) / KB * KB;
    // Kp and Vp: the calling thread's buffer, grown and kept. Keys up to len64 are read from the
    // cache only below len, so the cache need not hold the padding.
    static _Thread_local void *buf = NULL;
    static _Thread_local size_t cap = 0;
    uint32_t *kp = smol_grow(&buf, &cap, 2 * n_kv * (d / 2) * len64 * sizeof(uint32_t));
    if (!kp) return 0;
    flashb_ctx c;
    memset(&c, 0, sizeof c);
    c.q = q; c.kc = kc; c.vc = vc; c.out = out; c.kp = kp; c.vp = kp + n_kv * (d / 2) * len64;
    c.nq = nq; c.pos0 = pos0; c.n_heads = n_heads; c.n_kv = n_kv; c.d = d; c.stride = stride; c.len64 = len64;
    c.scale = scale;
    c.qb = RMAX / group;
    c.nqb = (nq + c.qb - 1) / c.qb;
    smol_pool_run(pool, pack_task, &c);
    atomic_store(&c.next, 0);
    smol_pool_run(pool, flashb_task, &c);
    return 1;
}
#else
int smol_attention_flash_bf16(smol_pool *pool, const float *q, const void *kc, const void *vc, smol_dtype kv_dt,
                              float *out, size_t nq, size_t pos0, size_t n_heads, size_t n_kv, size_t d, size_t stride,
                              float scale) {
    (void)pool; (void)q; (void)kc; (void)vc; (void)kv_dt; (void)out; (void)nq; (void)pos0; (void)n_heads;
    (void)n_kv; (void)d; (void)stride; (void)scale;
    return 0;
}
#endif
