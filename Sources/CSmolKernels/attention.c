// Causal grouped-query attention over a KV cache, one (query, head) pair per work item.
#include "smol_kernels.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define AVX2_FN __attribute__((target("avx2,fma")))
#endif

typedef struct {
    const float *q, *kc, *vc;
    float *out, *scratch;
    size_t nq, pos0, n_heads, n_kv, head_dim, stride;
    float scale;
    _Atomic size_t next;
} attn_ctx;

static void attn_task(void *p, int ith, int nth) {
    attn_ctx *c = p;
    size_t items = c->nq * c->n_heads, i0, i1;
    (void)nth;
    float *scores = c->scratch + (size_t)ith * (c->pos0 + c->nq);
    size_t group = c->n_heads / c->n_kv, d = c->head_dim;
    while (smol_claim(&c->next, items, 1, &i0, &i1))
    for (size_t it = i0; it < i1; it++) {
        size_t t = it / c->n_heads, h = it % c->n_heads, kvh = h / group;
        size_t len = c->pos0 + t + 1;  // causal: keys 0 ..= own position
        const float *q = c->q + (t * c->n_heads + h) * d;
        const float *K = c->kc + kvh * c->stride * d;
        const float *V = c->vc + kvh * c->stride * d;
        float mx = -INFINITY;
        for (size_t j = 0; j < len; j++) {
            float s = smol_dot_f32(q, K + j * d, d) * c->scale;
            scores[j] = s;
            if (s > mx) mx = s;
        }
        float sum = 0;
        for (size_t j = 0; j < len; j++) {
            float e = expf(scores[j] - mx);
            scores[j] = e;
            sum += e;
        }
        float inv = 1.0f / sum;
        float *o = c->out + (t * c->n_heads + h) * d;
        memset(o, 0, d * sizeof(float));
        for (size_t j = 0; j < len; j++) smol_axpy_f32(scores[j] * inv, V + j * d, o, d);
    }
}

// ---- Decode, AVX2: one item = (query, kv head, slice of positions) ----------------------------
// All query heads of a GQA group read each K and V row once (from L1 after the first head),
// and the positions are split into slices so that even 3 kv heads keep every thread busy
// (flash-decoding): each slice leaves its max, sum and unnormalised output, merged at the end.
#if defined(__x86_64__)
enum { GROUP_MAX = 16, SLICE_MAX = 512 };

typedef struct {
    const float *q;
    const void *kc, *vc;  // f32 or bf16 (dt)
    smol_dtype dt;
    float *out, *partial;
    size_t nq, pos0, n_heads, n_kv, d, stride, nslice, slice;
    float scale;
    _Atomic size_t next;
} attn_split_ctx;

// 8 values of a K/V row as f32, from f32 or bf16 storage.
AVX2_FN static inline __m256 ld8(const void *base, smol_dtype dt, size_t i) {
    if (dt == SMOL_BF16) {
        __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)base + i));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
    return _mm256_loadu_ps((const float *)base + i);
}

AVX2_FN static inline __m128 hsum4x(__m256 a, __m256 b, __m256 c, __m256 e) {
    __m256 ab = _mm256_hadd_ps(a, b), ce = _mm256_hadd_ps(c, e);
    __m256 abce = _mm256_hadd_ps(ab, ce);
    return _mm_add_ps(_mm256_castps256_ps128(abce), _mm256_extractf128_ps(abce, 1));
}

AVX2_FN static void attn_split_task(void *p, int ith, int nth) {
    attn_split_ctx *c = p;
    (void)ith; (void)nth;
    size_t group = c->n_heads / c->n_kv, d = c->d, items = c->nq * c->n_kv * c->nslice, i0, i1;
    float scores[GROUP_MAX * SLICE_MAX];
    while (smol_claim(&c->next, items, 1, &i0, &i1))
    for (size_t it = i0; it < i1; it++) {
        size_t s = it % c->nslice, kvh = (it / c->nslice) % c->n_kv, t = it / (c->nslice * c->n_kv);
        size_t len = c->pos0 + t + 1;
        size_t j0 = s * c->slice, j1 = j0 + c->slice < len ? j0 + c->slice : len;
        float *part = c->partial + it * group * (d + 2);  // per head: max, sum, out[d]
        if (j0 >= len) {
            for (size_t g = 0; g < group; g++) { part[g * (d + 2)] = -INFINITY; part[g * (d + 2) + 1] = 0; }
            continue;
        }
        size_t n = j1 - j0;
        const float *q = c->q + (t * c->n_heads + kvh * group) * d;
        const size_t base = (kvh * c->stride + j0) * d;
        const void *K = c->dt == SMOL_BF16 ? (const void *)((const uint16_t *)c->kc + base) : (const void *)((const float *)c->kc + base);
        const void *V = c->dt == SMOL_BF16 ? (const void *)((const uint16_t *)c->vc + base) : (const void *)((const float *)c->vc + base);
        const smol_dtype dt = c->dt;
        const __m128 sc = _mm_set1_ps(c->scale);
        for (size_t g = 0; g < group; g++) {
            const float *qg = q + g * d;
            float *sg = scores + g * n;
            size_t j = 0;
            for (; j + 4 <= n; j += 4) {
                __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
                size_t k0 = j * d;
                for (size_t i = 0; i < d; i += 8) {
                    __m256 qv = _mm256_loadu_ps(qg + i);
                    a0 = _mm256_fmadd_ps(qv, ld8(K, dt, k0 + i), a0);
                    a1 = _mm256_fmadd_ps(qv, ld8(K, dt, k0 + d + i), a1);
                    a2 = _mm256_fmadd_ps(qv, ld8(K, dt, k0 + 2 * d + i), a2);
                    a3 = _mm256_fmadd_ps(qv, ld8(K, dt, k0 + 3 * d + i), a3);
                }
                _mm_storeu_ps(sg + j, _mm_mul_ps(hsum4x(a0, a1, a2, a3), sc));
            }
            for (; j < n; j++) {
                __m256 a0 = _mm256_setzero_ps();
                for (size_t i = 0; i < d; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(qg + i), ld8(K, dt, j * d + i), a0);
                sg[j] = hsum4x(a0, _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps())[0] * c->scale;
            }
            float mx = -INFINITY, sum = 0;
            for (j = 0; j < n; j++) if (sg[j] > mx) mx = sg[j];
            for (j = 0; j < n; j++) { float e = expf(sg[j] - mx); sg[j] = e; sum += e; }
            part[g * (d + 2)] = mx;
            part[g * (d + 2) + 1] = sum;
        }
        // out_g = sum_j p_gj V_j, 32 columns at a time with up to 4 heads in registers.
        for (size_t g0 = 0; g0 < group; g0 += 4) {
            size_t gn = group - g0 < 4 ? group - g0 : 4;
            for (size_t col = 0; col < d; col += 32) {
                __m256 acc[4][4];
                for (size_t g = 0; g < 4; g++)
                    for (size_t u = 0; u < 4; u++) acc[g][u] = _mm256_setzero_ps();
                for (size_t j = 0; j < n; j++) {
                    size_t v = j * d + col;
                    __m256 v0 = ld8(V, dt, v), v1 = ld8(V, dt, v + 8);
                    __m256 v2 = ld8(V, dt, v + 16), v3 = ld8(V, dt, v + 24);
                    for (size_t g = 0; g < gn; g++) {
                        __m256 pj = _mm256_broadcast_ss(scores + (g0 + g) * n + j);
                        acc[g][0] = _mm256_fmadd_ps(pj, v0, acc[g][0]);
                        acc[g][1] = _mm256_fmadd_ps(pj, v1, acc[g][1]);
                        acc[g][2] = _mm256_fmadd_ps(pj, v2, acc[g][2]);
                        acc[g][3] = _mm256_fmadd_ps(pj, v3, acc[g][3]);
                    }
                }
                for (size_t g = 0; g < gn; g++) {
                    float *o = part + (g0 + g) * (d + 2) + 2 + col;
                    for (size_t u = 0; u < 4; u++) _mm256_storeu_ps(o + 8 * u, acc[g][u]);
                }
            }
        }
    }
}

static int attention_split(smol_pool *pool, const float *q, const void *kc, const void *vc, smol_dtype dt,
                           float *out, size_t nq, size_t pos0, size_t n_heads, size_t n_kv, size_t d,
                           size_t stride, float scale) {
    size_t group = n_heads / n_kv;
    if (smol_isa_active() < SMOL_ISA_AVX2 || d % 32 || group > GROUP_MAX || nq > 16) return 0;
    // Enough slices for ~4 items per thread, each at most SLICE_MAX positions.
    size_t len = pos0 + nq, nth = (size_t)smol_pool_size(pool);
    size_t want = (4 * nth + nq * n_kv - 1) / (nq * n_kv);
    size_t slice = (len + want - 1) / want;
    if (slice < 32) slice = 32;
    if (slice > SLICE_MAX) slice = SLICE_MAX;
    size_t nslice = (len + slice - 1) / slice;
    size_t need = nq * n_kv * nslice * group * (d + 2);
    // Owned by the calling thread and only grown: decode allocates nothing in steady state.
    static _Thread_local float *partial = NULL;
    static _Thread_local size_t cap = 0;
    if (cap < need) {
        float *grown = realloc(partial, need * sizeof(float));
        if (!grown) return 0;
        partial = grown;
        cap = need;
    }
    attn_split_ctx c = {q, kc, vc, dt, out, partial, nq, pos0, n_heads, n_kv, d, stride, nslice, slice, scale, 0};
    smol_pool_run(pool, attn_split_task, &c);
    // Merge the slices of each (query, head).
    size_t step = group * (d + 2);
    for (size_t t = 0; t < nq; t++)
    for (size_t h = 0; h < n_heads; h++) {
        size_t kvh = h / group, g = h % group;
        const float *first = partial + (t * n_kv + kvh) * nslice * step + g * (d + 2);
        float m = -INFINITY;
        for (size_t sl = 0; sl < nslice; sl++) if (first[sl * step] > m) m = first[sl * step];
        float *o = out + (t * n_heads + h) * d;
        memset(o, 0, d * sizeof(float));
        float total = 0;
        for (size_t sl = 0; sl < nslice; sl++) {
            const float *ps = first + sl * step;
            if (ps[1] == 0) continue;
            float w = expf(ps[0] - m);
            total += w * ps[1];
            smol_axpy_f32(w, ps + 2, o, d);
        }
        float inv = 1.0f / total;
        for (size_t i = 0; i < d; i++) o[i] *= inv;
    }
    return 1;
}
#endif

// K and V of positions [0, len) of every kv head as f32 [n_kv, len, d], for the paths that
// read f32 only (scalar decode, sgemm prefill). The calling thread's buffer, grown and kept.
static int kv_as_f32(const void *kc, const void *vc, smol_dtype dt, size_t n_kv, size_t stride, size_t len, size_t d,
                     const float **kf, const float **vf, size_t *out_stride) {
    if (dt == SMOL_F32) { *kf = kc; *vf = vc; *out_stride = stride; return 1; }
    static _Thread_local void *mem = NULL;
    static _Thread_local size_t cap = 0;
    float *buf = smol_grow(&mem, &cap, 2 * n_kv * len * d * sizeof(float));
    if (!buf) return 0;
    for (size_t h = 0; h < n_kv; h++) {
        smol_convert_to_f32((const uint16_t *)kc + h * stride * d, SMOL_BF16, buf + h * len * d, len * d);
        smol_convert_to_f32((const uint16_t *)vc + h * stride * d, SMOL_BF16, buf + (n_kv + h) * len * d, len * d);
    }
    *kf = buf;
    *vf = buf + n_kv * len * d;
    *out_stride = len;
    return 1;
}

void smol_attention(smol_pool *pool, const float *q, const void *kc, const void *vc, smol_dtype kv_dt, float *out,
                    size_t nq, size_t pos0, size_t n_heads, size_t n_kv, size_t head_dim,
                    size_t cache_stride, float scale, float *scratch) {
#if defined(__x86_64__)
    if (attention_split(pool, q, kc, vc, kv_dt, out, nq, pos0, n_heads, n_kv, head_dim, cache_stride, scale)) return;
#endif
    const float *kf, *vf;
    size_t stride;
    if (!kv_as_f32(kc, vc, kv_dt, n_kv, cache_stride, pos0 + nq, head_dim, &kf, &vf, &stride)) {
        for (size_t i = 0; i < nq * n_heads * head_dim; i++) out[i] = NAN;  // out of memory: poison, never stale
        return;
    }
    attn_ctx c = {q, kf, vf, out, scratch, nq, pos0, n_heads, n_kv, head_dim, stride, scale, 0};
    smol_pool_run(pool, attn_task, &c);
}


// ---- Prefill: per (head, block of queries) through single-threaded sgemm ----------------------
// Scores S = Q_h K^T for a block of queries, causal mask, softmax, then O_h = P V. Computing the
// masked upper triangle is cheaper than scalar loops: BLAS runs near peak.

enum { SMOL_CBLAS_ROW_MAJOR_ = 101, SMOL_CBLAS_NO_TRANS_ = 111, SMOL_CBLAS_TRANS_ = 112 };
void cblas_sgemm(int order, int transA, int transB, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc);

typedef struct {
    const float *q, *kc, *vc;
    float *out, *scratch;
    size_t nq, pos0, n_heads, n_kv, head_dim, stride, qblock, scratch_per_thread;
    float scale;
    _Atomic size_t next;
} attn_blas_ctx;

static void attn_blas_task(void *p, int ith, int nth) {
    attn_blas_ctx *c = p;
    (void)nth;
    size_t nblocks = (c->nq + c->qblock - 1) / c->qblock;
    size_t items = nblocks * c->n_heads, i0, i1;
    float *S = c->scratch + (size_t)ith * c->scratch_per_thread;
    size_t d = c->head_dim, group = c->n_heads / c->n_kv, qs = c->n_heads * d;
    while (smol_claim(&c->next, items, 1, &i0, &i1)) {
        for (size_t it = i0; it < i1; it++) {
            size_t h = it % c->n_heads, b = it / c->n_heads, kvh = h / group;
            size_t t0 = b * c->qblock, nb = c->nq - t0 < c->qblock ? c->nq - t0 : c->qblock;
            size_t len = c->pos0 + t0 + nb;  // keys needed by the last query of the block
            const float *K = c->kc + kvh * c->stride * d, *V = c->vc + kvh * c->stride * d;
            cblas_sgemm(SMOL_CBLAS_ROW_MAJOR_, SMOL_CBLAS_NO_TRANS_, SMOL_CBLAS_TRANS_, (int)nb, (int)len, (int)d,
                        c->scale, c->q + t0 * qs + h * d, (int)qs, K, (int)d, 0.0f, S, (int)len);
            for (size_t r = 0; r < nb; r++) {
                float *row = S + r * len;
                size_t valid = c->pos0 + t0 + r + 1;
                float mx = -INFINITY;
                for (size_t j = 0; j < valid; j++) if (row[j] > mx) mx = row[j];
                float sum = 0;
                for (size_t j = 0; j < valid; j++) { float e = expf(row[j] - mx); row[j] = e; sum += e; }
                float inv = 1.0f / sum;
                for (size_t j = 0; j < valid; j++) row[j] *= inv;
                for (size_t j = valid; j < len; j++) row[j] = 0;
            }
            cblas_sgemm(SMOL_CBLAS_ROW_MAJOR_, SMOL_CBLAS_NO_TRANS_, SMOL_CBLAS_NO_TRANS_, (int)nb, (int)d, (int)len, 1.0f,
                        S, (int)len, V, (int)d, 0.0f, c->out + t0 * qs + h * d, (int)qs);
        }
    }
}

size_t smol_attention_prefill_scratch(size_t nq, size_t pos0) {
    size_t qblock = nq < 64 ? nq : 64;
    return qblock * (pos0 + nq);
}

void smol_attention_prefill(smol_pool *pool, const float *q, const void *kc, const void *vc, smol_dtype kv_dt,
                            float *out, size_t nq, size_t pos0, size_t n_heads, size_t n_kv, size_t head_dim,
                            size_t cache_stride, float scale, float *scratch, size_t scratch_per_thread) {
    if (smol_attention_flash(pool, q, kc, vc, kv_dt, out, nq, pos0, n_heads, n_kv, head_dim, cache_stride, scale)) return;
    const float *kf, *vf;
    size_t stride;
    if (!kv_as_f32(kc, vc, kv_dt, n_kv, cache_stride, pos0 + nq, head_dim, &kf, &vf, &stride)) {
        for (size_t i = 0; i < nq * n_heads * head_dim; i++) out[i] = NAN;
        return;
    }
    size_t qblock = nq < 64 ? nq : 64;
    attn_blas_ctx c = {q, kf, vf, out, scratch, nq, pos0, n_heads, n_kv, head_dim, stride, qblock,
                       scratch_per_thread, scale, 0};
    smol_pool_run(pool, attn_blas_task, &c);
}
