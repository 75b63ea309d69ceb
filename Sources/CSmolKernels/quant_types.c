// Storage types of the block kernels (sizes, GGUF ids) and the activation side of their dot
// products: a row of x quantized to 8-bit blocks of 32, once per call (see matvec_quant.c).
#include "smol_kernels.h"
#include "internal.h"

#include <math.h>

int smol_dtype_is_quant(smol_dtype dt) { return dt >= SMOL_Q8_0 && dt <= SMOL_Q5_1; }

size_t smol_dtype_block_bytes(smol_dtype dt) {
    switch (dt) {
    case SMOL_Q8_0: return 34;
    case SMOL_Q4_0: case SMOL_Q4_0_R8: return 18;
    case SMOL_Q4_1: case SMOL_Q4_1_R8: return 20;
    case SMOL_Q4_K: return 144;
    case SMOL_Q4_K_R8: return 148;  // per row: 1184 bytes per 8 rows
    case SMOL_Q5_K: return 176;
    case SMOL_Q5_0: return 22;
    case SMOL_Q5_1: return 24;
    case SMOL_Q6_K: case SMOL_Q6_K_R8: return 210;
    default: return 0;
    }
}

size_t smol_dtype_block_size(smol_dtype dt) {
    if (dt == SMOL_Q4_K || dt == SMOL_Q5_K || dt == SMOL_Q6_K || dt == SMOL_Q4_K_R8 || dt == SMOL_Q6_K_R8) return 256;
    return smol_dtype_is_quant(dt) ? 32 : 1;
}

size_t smol_dtype_row_bytes(smol_dtype dt, size_t cols) {
    switch (dt) {
    case SMOL_F32: return cols * 4;
    case SMOL_F16: case SMOL_BF16: return cols * 2;
    default: {
        size_t bs = smol_dtype_block_size(dt);
        return cols % bs ? 0 : cols / bs * smol_dtype_block_bytes(dt);
    }
    }
}

uint32_t smol_dtype_ggml(smol_dtype dt) {
    switch (dt) {
    case SMOL_F32: return SMOL_GGML_F32;
    case SMOL_F16: return SMOL_GGML_F16;
    case SMOL_BF16: return SMOL_GGML_BF16;
    case SMOL_Q8_0: return SMOL_GGML_Q8_0;
    case SMOL_Q4_0: case SMOL_Q4_0_R8: return SMOL_GGML_Q4_0;
    case SMOL_Q4_1: case SMOL_Q4_1_R8: return SMOL_GGML_Q4_1;
    case SMOL_Q4_K: case SMOL_Q4_K_R8: return SMOL_GGML_Q4_K;
    case SMOL_Q5_K: return SMOL_GGML_Q5_K;
    case SMOL_Q5_0: return SMOL_GGML_Q5_0;
    case SMOL_Q5_1: return SMOL_GGML_Q5_1;
    default: return SMOL_GGML_Q6_K;
    }
}

// ---- activations to 8-bit blocks ---------------------------------------------------------------

size_t smol_qx_bytes(size_t cols) {
    size_t nb = cols / 32;
    return (cols + 63) / 64 * 64 + (nb * 5 * 4 + 63) / 64 * 64;
}

smol_qx smol_qx_view(const void *buf, size_t cols) {
    const uint8_t *b = buf;
    size_t nb = cols / 32, off = (cols + 63) / 64 * 64;
    smol_qx v = {(const int8_t *)b, (const float *)(b + off), (const float *)(b + off + nb * 4),
                 (const int32_t *)(b + off + nb * 8), (const int32_t *)(b + off + nb * 12)};
    return v;
}

// As ggml's quantize_row_q8_1_ref: d = amax / 127, q = round(x / d) (half away from zero);
// d is kept in f32 (llama.cpp rounds it to f16 for storage), and s = sum(q) exactly.
static void quantize_x_scalar(const float *x, size_t cols, void *buf) {
    uint8_t *b = buf;
    size_t nb = cols / 32, off = (cols + 63) / 64 * 64;
    int8_t *q = (int8_t *)b;
    float *d = (float *)(b + off), *ds = (float *)(b + off + nb * 4);
    int32_t *s = (int32_t *)(b + off + nb * 8), *s16 = (int32_t *)(b + off + nb * 12);
    for (size_t i = 0; i < nb; i++) {
        const float *xb = x + i * 32;
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(xb[j]));
        const float di = amax / 127.0f, id = di != 0 ? 1.0f / di : 0.0f;
        int32_t half[2] = {0, 0};
        for (int j = 0; j < 32; j++) {
            const int v = (int)roundf(xb[j] * id);
            q[i * 32 + j] = (int8_t)v;
            half[j / 16] += v;
        }
        d[i] = di;
        s[i] = half[0] + half[1];
        s16[2 * i] = half[0];
        s16[2 * i + 1] = half[1];
        ds[i] = di * (float)s[i];
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

// The same bits for finite x: amax is exact under any order, v = x * id is the same single
// product, and round-half-away is done exactly (t = trunc(v), v - t is exact for |v| < 2^23,
// one more step away from zero when |v - t| >= 0.5). Lanes whose x is NaN are ignored by the
// max as fmaxf ignores them.
__attribute__((target("avx2,fma"))) static void quantize_x_avx2(const float *x, size_t cols, void *buf) {
    uint8_t *b = buf;
    size_t nb = cols / 32, off = (cols + 63) / 64 * 64;
    int8_t *q = (int8_t *)b;
    float *d = (float *)(b + off), *ds = (float *)(b + off + nb * 4);
    int32_t *s = (int32_t *)(b + off + nb * 8), *s16 = (int32_t *)(b + off + nb * 12);
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff)), half = _mm256_set1_ps(0.5f);
    const __m256 one = _mm256_set1_ps(1.0f), signbit = _mm256_set1_ps(-0.0f);
    for (size_t i = 0; i < nb; i++) {
        const float *xb = x + i * 32;
        __m256 v[4];
        __m256 m = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(xb + 8 * k);
            m = _mm256_max_ps(_mm256_and_ps(v[k], absmask), m);  // NaN in x: m kept
        }
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
        const float amax = _mm_cvtss_f32(m4);
        const float di = amax / 127.0f, id = di != 0 ? 1.0f / di : 0.0f;
        const __m256 vid = _mm256_set1_ps(id);
        __m256i r[4];
        for (int k = 0; k < 4; k++) {
            const __m256 p = _mm256_mul_ps(v[k], vid);
            const __m256 t = _mm256_round_ps(p, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            const __m256 up = _mm256_cmp_ps(_mm256_and_ps(_mm256_sub_ps(p, t), absmask), half, _CMP_GE_OQ);
            const __m256 step = _mm256_and_ps(up, _mm256_or_ps(one, _mm256_and_ps(p, signbit)));
            r[k] = _mm256_cvttps_epi32(_mm256_add_ps(t, step));
        }
        // int32 -> int8 in order (values within [-127, 127]: the packs do not saturate).
        const __m256i w01 = _mm256_packs_epi32(r[0], r[1]), w23 = _mm256_packs_epi32(r[2], r[3]);
        const __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(w01, w23), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(q + i * 32), bytes);
        __m256i h0 = _mm256_add_epi32(r[0], r[1]), h1 = _mm256_add_epi32(r[2], r[3]);
        __m128i a0 = _mm_add_epi32(_mm256_castsi256_si128(h0), _mm256_extracti128_si256(h0, 1));
        __m128i a1 = _mm_add_epi32(_mm256_castsi256_si128(h1), _mm256_extracti128_si256(h1, 1));
        a0 = _mm_hadd_epi32(a0, a1);  // [a0 pairs, a1 pairs]
        a0 = _mm_hadd_epi32(a0, a0);  // [half0, half1, ...]
        const int32_t s0 = _mm_cvtsi128_si32(a0), s1 = _mm_extract_epi32(a0, 1);
        d[i] = di;
        s[i] = s0 + s1;
        s16[2 * i] = s0;
        s16[2 * i + 1] = s1;
        ds[i] = di * (float)s[i];
    }
}
#endif

void smol_quantize_x(const float *x, size_t cols, void *buf) {
#if defined(__x86_64__)
    if (smol_quant_level() >= SMOL_QPATH_AVX2) {
        quantize_x_avx2(x, cols, buf);
        return;
    }
#endif
    quantize_x_scalar(x, cols, buf);
}
