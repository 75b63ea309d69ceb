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
