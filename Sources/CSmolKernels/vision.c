// Kernels of the SigLIP vision encoder: LayerNorm, GELU (tanh), bias rows and bidirectional
// attention over whole sequences (every tile's patches attend to each other).
#include "smol_kernels.h"
#include "internal.h"

#include <math.h>

enum { CBLAS_ROW_MAJOR_ = 101, CBLAS_NO_TRANS_ = 111, CBLAS_TRANS_ = 112 };
void cblas_sgemm(int order, int transA, int transB, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc);

typedef struct {
    const float *x, *w, *b;
    float *y;
    size_t n, dim;
    float eps;
    _Atomic size_t next;
} ln_ctx;

static void ln_task(void *p, int ith, int nth) {
    ln_ctx *c = p;
    size_t r0, r1;
    (void)ith; (void)nth;
    while (smol_claim(&c->next, c->n, 16, &r0, &r1))
    for (size_t r = r0; r < r1; r++) {
        const float *x = c->x + r * c->dim;
        float *y = c->y + r * c->dim;
        // Two passes in double: the mean is removed before squaring, as torch does.
        double s = 0;
        for (size_t i = 0; i < c->dim; i++) s += x[i];
        float mean = (float)(s / (double)c->dim);
        double ss = 0;
        for (size_t i = 0; i < c->dim; i++) { double d = x[i] - mean; ss += d * d; }
        float inv = 1.0f / sqrtf((float)(ss / (double)c->dim) + c->eps);
        for (size_t i = 0; i < c->dim; i++) y[i] = (x[i] - mean) * inv * c->w[i] + c->b[i];
    }
}

void smol_layernorm(smol_pool *pool, const float *x, const float *w, const float *b, float *y, size_t n,
                    size_t dim, float eps) {
    ln_ctx c = {x, w, b, y, n, dim, eps, 0};
    if (n < 16) ln_task(&c, 0, 1);
    else smol_pool_run(pool, ln_task, &c);
}

typedef struct {
    float *x;
    size_t n;
    _Atomic size_t next;
} gelu_ctx;

static void gelu_task(void *p, int ith, int nth) {
    gelu_ctx *c = p;
    size_t i0, i1;
    (void)ith; (void)nth;
    const float beta = 0.7978845608028654f, kappa = 0.044715f;  // sqrt(2/pi)
    while (smol_claim(&c->next, c->n, 8192, &i0, &i1))
    for (size_t i = i0; i < i1; i++) {
        float v = c->x[i];
        c->x[i] = 0.5f * v * (1.0f + tanhf(beta * (v + kappa * v * v * v)));
    }
}

void smol_gelu_tanh(smol_pool *pool, float *x, size_t n) {
    gelu_ctx c = {x, n, 0};
    if (n < 16384) gelu_task(&c, 0, 1);
    else smol_pool_run(pool, gelu_task, &c);
}

void smol_add_bias(float *x, const float *b, size_t n, size_t dim) {
    for (size_t r = 0; r < n; r++) {
        float *row = x + r * dim;
        for (size_t i = 0; i < dim; i++) row[i] += b[i];
    }
}

typedef struct {
    const float *q, *k, *v;
    float *out, *scratch;
    size_t batch, seq, heads, head_dim;
    float scale;
    _Atomic size_t next;
} full_ctx;

static void full_task(void *p, int ith, int nth) {
    full_ctx *c = p;
    (void)nth;
    size_t d = c->head_dim, width = c->heads * d, s = c->seq;
    float *S = c->scratch + (size_t)ith * s * s;
    size_t i0, i1;
    while (smol_claim(&c->next, c->batch * c->heads, 1, &i0, &i1)) {
        size_t b = i0 / c->heads, h = i0 % c->heads;
        const float *q = c->q + b * s * width + h * d;
        const float *k = c->k + b * s * width + h * d;
        const float *v = c->v + b * s * width + h * d;
        float *o = c->out + b * s * width + h * d;
        cblas_sgemm(CBLAS_ROW_MAJOR_, CBLAS_NO_TRANS_, CBLAS_TRANS_, (int)s, (int)s, (int)d, c->scale, q, (int)width,
                    k, (int)width, 0.0f, S, (int)s);
        for (size_t r = 0; r < s; r++) {
            float *row = S + r * s, m = row[0], sum = 0;
            for (size_t j = 1; j < s; j++) m = row[j] > m ? row[j] : m;
            for (size_t j = 0; j < s; j++) { row[j] = expf(row[j] - m); sum += row[j]; }
            float inv = 1.0f / sum;
            for (size_t j = 0; j < s; j++) row[j] *= inv;
        }
        cblas_sgemm(CBLAS_ROW_MAJOR_, CBLAS_NO_TRANS_, CBLAS_NO_TRANS_, (int)s, (int)d, (int)s, 1.0f, S, (int)s, v,
                    (int)width, 0.0f, o, (int)width);
    }
}

void smol_attention_full(smol_pool *pool, const float *q, const float *k, const float *v, float *out, size_t batch,
                         size_t seq, size_t heads, size_t head_dim, float scale, float *scratch) {
    full_ctx c = {q, k, v, out, scratch, batch, seq, heads, head_dim, scale, 0};
    smol_pool_run(pool, full_task, &c);
}
