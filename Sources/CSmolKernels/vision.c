// Kernels of the SigLIP vision encoder: LayerNorm, GELU (tanh), bias rows and bidirectional
// attention over whole sequences (every tile's patches attend to each other).
#include "smol_kernels.h"
#include "internal.h"

#include <math.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX2_FN __attribute__((target("avx2,fma")))

// exp(x) for 8 floats: Cephes' expf (range reduction by ln 2 in two parts, degree-5
// polynomial), about 1 ulp; inputs clamped to the finite range.
AVX2_FN static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(5.0000001201e-1f));
    __m256 y = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(x, x), x), _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

// row[i] = exp(row[i] - m); returns the sum.
AVX2_FN static float exp_sum_avx2(float *row, size_t n, float m) {
    __m256 vm = _mm256_set1_ps(m), acc = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(row + i), vm));
        _mm256_storeu_ps(row + i, e);
        acc = _mm256_add_ps(acc, e);
    }
    float buf[8], sum = 0;
    _mm256_storeu_ps(buf, acc);
    for (int k = 0; k < 8; k++) sum += buf[k];
    for (; i < n; i++) { row[i] = expf(row[i] - m); sum += row[i]; }
    return sum;
}

// gelu_tanh over x[0..n): tanh(u) = 1 - 2 / (exp(2u) + 1), saturating for large |u|.
AVX2_FN static void gelu_avx2(float *x, size_t n) {
    const __m256 beta = _mm256_set1_ps(0.7978845608028654f), kappa = _mm256_set1_ps(0.044715f);
    const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f), half = _mm256_set1_ps(0.5f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 u = _mm256_mul_ps(beta, _mm256_fmadd_ps(_mm256_mul_ps(kappa, v), _mm256_mul_ps(v, v), v));
        u = _mm256_min_ps(_mm256_max_ps(u, _mm256_set1_ps(-10.0f)), _mm256_set1_ps(10.0f));
        __m256 e = exp8(_mm256_add_ps(u, u));
        __m256 t = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(e, one)));
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, t)));
    }
    const float b = 0.7978845608028654f, k = 0.044715f;
    for (; i < n; i++) {
        float v = x[i];
        x[i] = 0.5f * v * (1.0f + tanhf(b * (v + k * v * v * v)));
    }
}
#endif

static float exp_sum(float *row, size_t n, float m) {
#if defined(__x86_64__)
    if (smol_isa_active() >= SMOL_ISA_AVX2) return exp_sum_avx2(row, n, m);
#endif
    float sum = 0;
    for (size_t j = 0; j < n; j++) { row[j] = expf(row[j] - m); sum += row[j]; }
    return sum;
}

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
    while (smol_claim(&c->next, c->n, 8192, &i0, &i1)) {
#if defined(__x86_64__)
        if (smol_isa_active() >= SMOL_ISA_AVX2) { gelu_avx2(c->x + i0, i1 - i0); continue; }
#endif
        for (size_t i = i0; i < i1; i++) {
            float v = c->x[i];
            c->x[i] = 0.5f * v * (1.0f + tanhf(beta * (v + kappa * v * v * v)));
        }
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
    const uint8_t *key_mask;
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
        const uint8_t *km = c->key_mask ? c->key_mask + b * s : NULL;
        for (size_t r = 0; r < s; r++) {
            float *row = S + r * s;
            if (km) for (size_t j = 0; j < s; j++) if (!km[j]) row[j] = -INFINITY;
            float m = row[0];
            for (size_t j = 1; j < s; j++) m = row[j] > m ? row[j] : m;
            if (m == -INFINITY) {  // every key padded: attend to nothing
                for (size_t j = 0; j < s; j++) row[j] = 0;
                continue;
            }
            float inv = 1.0f / exp_sum(row, s, m);
            for (size_t j = 0; j < s; j++) row[j] *= inv;
        }
        cblas_sgemm(CBLAS_ROW_MAJOR_, CBLAS_NO_TRANS_, CBLAS_NO_TRANS_, (int)s, (int)d, (int)s, 1.0f, S, (int)s, v,
                    (int)width, 0.0f, o, (int)width);
    }
}

void smol_attention_full(smol_pool *pool, const float *q, const float *k, const float *v, float *out, size_t batch,
                         size_t seq, size_t heads, size_t head_dim, float scale, const uint8_t *key_mask, float *scratch) {
    full_ctx c = {q, k, v, out, scratch, key_mask, batch, seq, heads, head_dim, scale, 0};
    smol_pool_run(pool, full_task, &c);
}
