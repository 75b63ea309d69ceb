// Normalisation, activation, rotary embeddings and small reductions.
#include "smol_kernels.h"
#include "internal.h"

#include <math.h>

typedef struct {
    const float *x, *w;
    float *y;
    size_t n, dim;
    float eps;
    _Atomic size_t next;
} rms_ctx;

static void rms_task(void *p, int ith, int nth) {
    rms_ctx *c = p;
    size_t r0, r1;
    (void)ith; (void)nth;
    while (smol_claim(&c->next, c->n, 1, &r0, &r1))
    for (size_t r = r0; r < r1; r++) {
        const float *x = c->x + r * c->dim;
        float *y = c->y + r * c->dim;
        float ss = smol_dot_f32(x, x, c->dim);
        float inv = 1.0f / sqrtf(ss / (float)c->dim + c->eps);
        for (size_t i = 0; i < c->dim; i++) y[i] = c->w[i] * (x[i] * inv);
    }
}

void smol_rmsnorm(smol_pool *pool, const float *x, const float *w, float *y, size_t n,
                  size_t dim, float eps) {
    rms_ctx c = {x, w, y, n, dim, eps, 0};
    if (n == 1) rms_task(&c, 0, 1);  // one row: not worth a thread hand-off
    else smol_pool_run(pool, rms_task, &c);
}

typedef struct {
    float *g;
    const float *u;
    size_t n;
    _Atomic size_t next;
} silu_ctx;

#if defined(__x86_64__)
// g = silu(g) * u = g / (1 + exp(-g)) * u, 16 at a time (masked tail).
__attribute__((target("avx512f,fma"))) static void silu_avx512(float *g, const float *u, size_t n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 x = _mm512_maskz_loadu_ps(m, g + i);
        __m512 s = _mm512_div_ps(x, _mm512_add_ps(one, smol_exp16(_mm512_sub_ps(_mm512_setzero_ps(), x))));
        _mm512_mask_storeu_ps(g + i, m, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(m, u + i)));
    }
}
#endif

static void silu_task(void *p, int ith, int nth) {
    silu_ctx *c = p;
    size_t i0, i1;
    (void)ith; (void)nth;
    while (smol_claim(&c->next, c->n, 4096, &i0, &i1))
#if defined(__x86_64__)
    if (smol_isa_active() >= SMOL_ISA_AVX512) silu_avx512(c->g + i0, c->u + i0, i1 - i0); else
#endif
    for (size_t i = i0; i < i1; i++) {
        float g = c->g[i];
        c->g[i] = g / (1.0f + expf(-g)) * c->u[i];
    }
}

void smol_silu_mul(smol_pool *pool, float *gate, const float *up, size_t n) {
    silu_ctx c = {gate, up, n, 0};
    if (n < 16384) silu_task(&c, 0, 1);
    else smol_pool_run(pool, silu_task, &c);
}

void smol_add_inplace(float *x, const float *y, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] += y[i];
}

void smol_rope(float *x, size_t n, size_t heads, size_t head_dim, const float *cos_t,
               const float *sin_t) {
    size_t half = head_dim / 2;
    for (size_t t = 0; t < n; t++) {
        const float *c = cos_t + t * half, *s = sin_t + t * half;
        for (size_t h = 0; h < heads; h++) {
            float *v = x + (t * heads + h) * head_dim;
            for (size_t i = 0; i < half; i++) {
                float a = v[i], b = v[i + half];
                v[i] = a * c[i] - b * s[i];
                v[i + half] = b * c[i] + a * s[i];
            }
        }
    }
}

long smol_argmax_checked(const float *x, size_t n) {
    long best = -1;
    float bv = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) return -1;
        if (best < 0 || x[i] > bv) { bv = x[i]; best = (long)i; }
    }
    return best;
}

int smol_all_finite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}
