// Causal grouped-query attention over a KV cache, one (query, head) pair per work item.
#include "smol_kernels.h"
#include "internal.h"

#include <math.h>
#include <string.h>

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

void smol_attention(smol_pool *pool, const float *q, const float *kc, const float *vc, float *out,
                    size_t nq, size_t pos0, size_t n_heads, size_t n_kv, size_t head_dim,
                    size_t cache_stride, float scale, float *scratch) {
    attn_ctx c = {q, kc, vc, out, scratch, nq, pos0, n_heads, n_kv, head_dim, cache_stride, scale, 0};
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

void smol_attention_prefill(smol_pool *pool, const float *q, const float *kc, const float *vc, float *out,
                            size_t nq, size_t pos0, size_t n_heads, size_t n_kv, size_t head_dim,
                            size_t cache_stride, float scale, float *scratch, size_t scratch_per_thread) {
    size_t qblock = nq < 64 ? nq : 64;
    attn_blas_ctx c = {q, kc, vc, out, scratch, nq, pos0, n_heads, n_kv, head_dim, cache_stride, qblock,
                       scratch_per_thread, scale, 0};
    smol_pool_run(pool, attn_blas_task, &c);
}
