// Decode straight from GGUF blocks (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, K-quants): the activation row is quantized once
// per call to 8-bit blocks of 32 (as llama.cpp's quantize_row_q8_0/q8_1), and every weight
// block meets it in an integer dot product, scaled once per block:
//
//   Q8_0: w = d_w q            dot = d_w d_x sum(q qx)
//   Q4_0: w = d_w (q - 8)      dot = d_w d_x (sum(q qx) - 8 s_x)        s_x = sum(qx)
//   Q4_1: w = d_w q + m_w      dot = d_w d_x sum(q qx) + m_w d_x s_x
//   Q5_0: w = d_w (q - 16)     dot = d_w d_x (sum(q qx) - 16 s_x)       q: nibble | qh bit << 4
//   Q5_1: w = d_w q + m_w      dot = d_w d_x sum(q qx) + m_w d_x s_x
//
// The integer sums are exact on every path, so the paths differ only in the order of the
// per-block float products. Paths: scalar; AVX2 (vpmaddubsw + vpmaddwd: q is the unsigned
// operand, |q| and sign(qx, q) for Q8_0 so the pair sums cannot saturate); AVX512_VNNI on ymm
// (vpdpbusd; Zen 4 runs zmm as two ymm halves anyway, so ymm keeps one block per register).
// One weight row at a time per thread, two accumulators for alternating blocks, one sequential
// stream per thread (the hardware prefetcher follows it).
#include "smol_kernels.h"
#include "internal.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX2_FN __attribute__((target("avx2,fma,f16c")))
#define VNNI_FN __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))
#endif

// ---- one weight row against one quantized activation row -----------------------------------------

static inline float f16_at(const uint8_t *p) { return smol_f16_to_f32((uint16_t)(p[0] | (p[1] << 8))); }

static float dot_q8_0_scalar(const uint8_t *w, smol_qx x, size_t nb) {
    float acc = 0;
    for (size_t i = 0; i < nb; i++, w += 34) {
        int32_t isum = 0;
        for (int j = 0; j < 32; j++) isum += (int8_t)w[2 + j] * x.q[i * 32 + j];
        acc += f16_at(w) * x.d[i] * (float)isum;
    }
    return acc;
}

static float dot_q4_0_scalar(const uint8_t *w, smol_qx x, size_t nb) {
    float acc = 0;
    for (size_t i = 0; i < nb; i++, w += 18) {
        int32_t isum = -8 * x.s[i];
        for (int j = 0; j < 16; j++) isum += (w[2 + j] & 0xF) * x.q[i * 32 + j] + (w[2 + j] >> 4) * x.q[i * 32 + j + 16];
        acc += f16_at(w) * x.d[i] * (float)isum;
    }
    return acc;
}

static float dot_q4_1_scalar(const uint8_t *w, smol_qx x, size_t nb) {
    float acc = 0, macc = 0;
    for (size_t i = 0; i < nb; i++, w += 20) {
        int32_t isum = 0;
        for (int j = 0; j < 16; j++) isum += (w[4 + j] & 0xF) * x.q[i * 32 + j] + (w[4 + j] >> 4) * x.q[i * 32 + j + 16];
        acc += f16_at(w) * x.d[i] * (float)isum;
        macc += f16_at(w + 2) * x.ds[i];
    }
    return acc + macc;
}

// Value j (0..31) of a Q5_0/Q5_1 block: its nibble (low nibbles are 0..15) and bit j of qh.
static inline int q5_value(const uint8_t *qs, uint32_t qh, int j) {
    return (j < 16 ? qs[j] & 0xF : qs[j - 16] >> 4) | (int)(((qh >> j) & 1) << 4);
}

static float dot_q5_0_scalar(const uint8_t *w, smol_qx x, size_t nb) {
    float acc = 0;
    for (size_t i = 0; i < nb; i++, w += 22) {
        uint32_t qh;
        memcpy(&qh, w + 2, 4);
        int32_t isum = -16 * x.s[i];
        for (int j = 0; j < 32; j++) isum += q5_value(w + 6, qh, j) * x.q[i * 32 + j];
        acc += f16_at(w) * x.d[i] * (float)isum;
    }
    return acc;
}

static float dot_q5_1_scalar(const uint8_t *w, smol_qx x, size_t nb) {
    float acc = 0, macc = 0;
    for (size_t i = 0; i < nb; i++, w += 24) {
        uint32_t qh;
        memcpy(&qh, w + 4, 4);
        int32_t isum = 0;
        for (int j = 0; j < 32; j++) isum += q5_value(w + 8, qh, j) * x.q[i * 32 + j];
        acc += f16_at(w) * x.d[i] * (float)isum;
        macc += f16_at(w + 2) * x.ds[i];
    }
    return acc + macc;
}

// K-quants: super-blocks of 256 = 8 sub-blocks of 32 (Q4_K, Q5_K: 6-bit scale and min per
// sub-block; Q6_K: an int8 scale per 16 values), each sub-block meeting one 32-value block of x.
static inline void k_scale_min(int j, const uint8_t *q, int *sc, int *m) {  // ggml's get_scale_min_k4
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

// Sub-block j (0..7) of a Q4_K/Q5_K super-block as 32 unsigned values in x order.
static inline void k4_sub(const uint8_t *b, int five, int j, uint8_t *out) {
    const uint8_t *qs = b + (five ? 48 : 16) + 32 * (j / 2);
    for (int l = 0; l < 32; l++) {
        int v = j % 2 ? qs[l] >> 4 : qs[l] & 0xF;
        if (five) v |= ((b[16 + l] >> j) & 1) << 4;
        out[l] = (uint8_t)v;
    }
}

// Group g (0..7) of 32 values of a Q6_K super-block (0..63, offset 32), in x order; its two
// scales are sc[2g'], sc[2g'+1] as ggml lays them out (see sub6's caller).
static inline void k6_group(const uint8_t *b, int g, uint8_t *out) {
    const int n = g / 4, k = g % 4;  // half (128 values), quarter within it
    const uint8_t *ql = b + 64 * n + (k % 2) * 32, *qh = b + 128 + 32 * n;
    for (int l = 0; l < 32; l++) out[l] = (uint8_t)((k < 2 ? ql[l] & 0xF : ql[l] >> 4) | (((qh[l] >> (2 * k)) & 3) << 4));
}

static inline int k6_scale(const uint8_t *b, int g, int half) {  // int8 scale of 16 values of group g
    const int n = g / 4, k = g % 4;
    return (int8_t)b[192 + 8 * n + 2 * k + half];
}

static float dot_k4_scalar(const uint8_t *w, smol_qx x, size_t nsb, int five) {
    const size_t bb = five ? 176 : 144;
    float acc = 0, macc = 0;
    uint8_t q[32];
    for (size_t i = 0; i < nsb; i++, w += bb) {
        const float d = f16_at(w), dmin = f16_at(w + 2);
        for (int j = 0; j < 8; j++) {
            int sc, m;
            k_scale_min(j, w + 4, &sc, &m);
            k4_sub(w, five, j, q);
            const size_t xb = i * 8 + (size_t)j;
            int32_t isum = 0;
            for (int l = 0; l < 32; l++) isum += q[l] * x.q[xb * 32 + l];
            acc += d * (float)sc * x.d[xb] * (float)isum;
            macc += dmin * (float)m * x.ds[xb];
        }
    }
    return acc - macc;
}

static float dot_q4_K_scalar(const uint8_t *w, smol_qx x, size_t nb) { return dot_k4_scalar(w, x, nb / 8, 0); }
static float dot_q5_K_scalar(const uint8_t *w, smol_qx x, size_t nb) { return dot_k4_scalar(w, x, nb / 8, 1); }

static float dot_q6_K_scalar(const uint8_t *w, smol_qx x, size_t nb) {
    float acc = 0;
    uint8_t q[32];
    for (size_t i = 0; i < nb / 8; i++, w += 210) {
        const float d = f16_at(w + 208);
        for (int g = 0; g < 8; g++) {
            k6_group(w, g, q);
            const size_t xb = i * 8 + (size_t)g;
            for (int h = 0; h < 2; h++) {
                int32_t isum = -32 * x.s16[2 * xb + h];
                for (int l = 16 * h; l < 16 * h + 16; l++) isum += q[l] * x.q[xb * 32 + l];
                acc += d * (float)k6_scale(w, g, h) * x.d[xb] * (float)isum;
            }
        }
    }
    return acc;
}

#if defined(__x86_64__)
AVX2_FN static inline float hsum8(__m256 v) {
    __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

AVX2_FN static inline float f16s(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

// 16 bytes of nibbles -> 32 values 0..15 in block order (low nibbles are elements 0..15).
AVX2_FN static inline __m256i nibbles(const uint8_t *qs) {
    __m128i raw = _mm_loadu_si128((const __m128i *)qs);
    __m256i v = _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}

// The 32 bits of a Q5 block's qh as 32 bytes, 0x10 where the bit is set (byte j from bit j).
AVX2_FN static inline __m256i q5_high_bits(const uint8_t *p) {
    uint32_t qh;
    memcpy(&qh, p, 4);
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh),
                                               _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                                                2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(0x10));
}

// Integer dot of 32 unsigned bytes with 32 signed ones, as 8 int32 partial sums plus `init`.
// DOT_U8S8 is vpdpbusd on VNNI and vpmaddubsw + vpmaddwd on AVX2 (pair sums stay below 2^15
// for the operands used here: nibbles, or |q8| against sign-adjusted activations).
#define DEFINE_QUANT_DOTS(SUFFIX, FN, DOT_U8S8)                                                          \
    FN static float dot_q8_0_##SUFFIX(const uint8_t *w, smol_qx x, size_t nb) {                           \
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;                                                         \
        size_t i = 0;                                                                                     \
        for (; i + 2 <= nb; i += 2, w += 68) {                                                            \
            __m256i w0 = _mm256_loadu_si256((const __m256i *)(w + 2)), w1 = _mm256_loadu_si256((const __m256i *)(w + 36)); \
            __m256i x0 = _mm256_loadu_si256((const __m256i *)(x.q + i * 32)), x1 = _mm256_loadu_si256((const __m256i *)(x.q + i * 32 + 32)); \
            __m256i p0 = DOT_U8S8(_mm256_setzero_si256(), _mm256_sign_epi8(w0, w0), _mm256_sign_epi8(x0, w0));     \
            __m256i p1 = DOT_U8S8(_mm256_setzero_si256(), _mm256_sign_epi8(w1, w1), _mm256_sign_epi8(x1, w1));     \
            a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(f16s(w) * x.d[i]), a0);                  \
            a1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_set1_ps(f16s(w + 34) * x.d[i + 1]), a1);         \
        }                                                                                                 \
        if (i < nb) {                                                                                     \
            __m256i w0 = _mm256_loadu_si256((const __m256i *)(w + 2));                                    \
            __m256i x0 = _mm256_loadu_si256((const __m256i *)(x.q + i * 32));                             \
            __m256i p0 = DOT_U8S8(_mm256_setzero_si256(), _mm256_sign_epi8(w0, w0), _mm256_sign_epi8(x0, w0));     \
            a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(f16s(w) * x.d[i]), a0);                  \
        }                                                                                                 \
        return hsum8(_mm256_add_ps(a0, a1));                                                              \
    }                                                                                                     \
    /* Q4_0: the -8 s_x term enters as the accumulator's first lane, so the sum stays integer. */        \
    FN static float dot_q4_0_##SUFFIX(const uint8_t *w, smol_qx x, size_t nb) {                           \
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;                                                         \
        size_t i = 0;                                                                                     \
        for (; i + 2 <= nb; i += 2, w += 36) {                                                            \
            __m256i c0 = _mm256_zextsi128_si256(_mm_cvtsi32_si128(-8 * x.s[i]));                          \
            __m256i c1 = _mm256_zextsi128_si256(_mm_cvtsi32_si128(-8 * x.s[i + 1]));                      \
            __m256i p0 = DOT_U8S8(c0, nibbles(w + 2), _mm256_loadu_si256((const __m256i *)(x.q + i * 32)));      \
            __m256i p1 = DOT_U8S8(c1, nibbles(w + 20), _mm256_loadu_si256((const __m256i *)(x.q + i * 32 + 32))); \
            a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(f16s(w) * x.d[i]), a0);                  \
            a1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_set1_ps(f16s(w + 18) * x.d[i + 1]), a1);         \
        }                                                                                                 \
        if (i < nb) {                                                                                     \
            __m256i c0 = _mm256_zextsi128_si256(_mm_cvtsi32_si128(-8 * x.s[i]));                          \
            __m256i p0 = DOT_U8S8(c0, nibbles(w + 2), _mm256_loadu_si256((const __m256i *)(x.q + i * 32)));      \
            a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(f16s(w) * x.d[i]), a0);                  \
        }                                                                                                 \
        return hsum8(_mm256_add_ps(a0, a1));                                                              \
    }                                                                                                     \
    FN static float dot_q4_1_##SUFFIX(const uint8_t *w, smol_qx x, size_t nb) {                           \
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;                                                         \
        float m0 = 0, m1 = 0;                                                                             \
        size_t i = 0;                                                                                     \
        for (; i + 2 <= nb; i += 2, w += 40) {                                                            \
            __m256i p0 = DOT_U8S8(_mm256_setzero_si256(), nibbles(w + 4), _mm256_loadu_si256((const __m256i *)(x.q + i * 32)));      \
            __m256i p1 = DOT_U8S8(_mm256_setzero_si256(), nibbles(w + 24), _mm256_loadu_si256((const __m256i *)(x.q + i * 32 + 32))); \
            a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(f16s(w) * x.d[i]), a0);                  \
            a1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_set1_ps(f16s(w + 20) * x.d[i + 1]), a1);         \
            m0 += f16s(w + 2) * x.ds[i];                                                                  \
            m1 += f16s(w + 22) * x.ds[i + 1];                                                             \
        }                                                                                                 \
        if (i < nb) {                                                                                     \
            __m256i p0 = DOT_U8S8(_mm256_setzero_si256(), nibbles(w + 4), _mm256_loadu_si256((const __m256i *)(x.q + i * 32)));      \
            a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(f16s(w) * x.d[i]), a0);                  \
            m0 += f16s(w + 2) * x.ds[i];                                                                  \
        }                                                                                                 \
        return hsum8(_mm256_add_ps(a0, a1)) + (m0 + m1);                                                  \
    }                                                                                                     \
    /* Q5_0 / Q5_1: Q4's nibbles with qh's bits as bit 4; one block per step, two accumulators. */   \
    FN static float dot_q5_0_##SUFFIX(const uint8_t *w, smol_qx x, size_t nb) {                           \
        __m256 a[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};                                         \
        for (size_t i = 0; i < nb; i++, w += 22) {                                                        \
            const __m256i c = _mm256_zextsi128_si256(_mm_cvtsi32_si128(-16 * x.s[i]));                     \
            const __m256i q = _mm256_or_si256(nibbles(w + 6), q5_high_bits(w + 2));                        \
            const __m256i p = DOT_U8S8(c, q, _mm256_loadu_si256((const __m256i *)(x.q + i * 32)));        \
            a[i & 1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(f16s(w) * x.d[i]), a[i & 1]); \
        }                                                                                                 \
        return hsum8(_mm256_add_ps(a[0], a[1]));                                                          \
    }                                                                                                     \
    FN static float dot_q5_1_##SUFFIX(const uint8_t *w, smol_qx x, size_t nb) {                           \
        __m256 a[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};                                         \
        float m[2] = {0, 0};                                                                              \
        for (size_t i = 0; i < nb; i++, w += 24) {                                                        \
            const __m256i q = _mm256_or_si256(nibbles(w + 8), q5_high_bits(w + 4));                        \
            const __m256i p = DOT_U8S8(_mm256_setzero_si256(), q, _mm256_loadu_si256((const __m256i *)(x.q + i * 32))); \
            a[i & 1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(f16s(w) * x.d[i]), a[i & 1]); \
            m[i & 1] += f16s(w + 2) * x.ds[i];                                                            \
        }                                                                                                 \
        return hsum8(_mm256_add_ps(a[0], a[1])) + (m[0] + m[1]);                                          \
    }                                                                                                     \
    /* Q4_K / Q5_K: 32 bytes of nibbles give two sub-blocks (low, high); Q5_K adds bit j of qh. */        \
    FN static inline float dot_k4_##SUFFIX(const uint8_t *w, smol_qx x, size_t nsb, int five) {           \
        const size_t bb = five ? 176 : 144;                                                               \
        const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);                             \
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;                                                         \
        float macc = 0;                                                                                   \
        for (size_t i = 0; i < nsb; i++, w += bb) {                                                       \
            const float d = f16s(w), dmin = f16s(w + 2);                                                  \
            const __m256i qh = five ? _mm256_loadu_si256((const __m256i *)(w + 16)) : _mm256_setzero_si256(); \
            const uint8_t *qs = w + (five ? 48 : 16);                                                     \
            for (int j = 0; j < 8; j += 2) {                                                              \
                int sc0, m0, sc1, m1;                                                                     \
                k_scale_min(j, w + 4, &sc0, &m0);                                                         \
                k_scale_min(j + 1, w + 4, &sc1, &m1);                                                     \
                const __m256i raw = _mm256_loadu_si256((const __m256i *)(qs + 16 * j));                   \
                __m256i lo = _mm256_and_si256(raw, m4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4); \
                if (five) {                                                                               \
                    lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, j), one), 4));     \
                    hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, j + 1), one), 4)); \
                }                                                                                         \
                const size_t xb = i * 8 + (size_t)j;                                                      \
                __m256i p0 = DOT_U8S8(_mm256_setzero_si256(), lo, _mm256_loadu_si256((const __m256i *)(x.q + xb * 32)));      \
                __m256i p1 = DOT_U8S8(_mm256_setzero_si256(), hi, _mm256_loadu_si256((const __m256i *)(x.q + xb * 32 + 32))); \
                a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(d * (float)sc0 * x.d[xb]), a0);            \
                a1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_set1_ps(d * (float)sc1 * x.d[xb + 1]), a1);        \
                macc += dmin * (float)m0 * x.ds[xb] + dmin * (float)m1 * x.ds[xb + 1];                    \
            }                                                                                             \
        }                                                                                                 \
        return hsum8(_mm256_add_ps(a0, a1)) - macc;                                                       \
    }                                                                                                     \
    FN static float dot_q4_K_##SUFFIX(const uint8_t *w, smol_qx x, size_t nb) { return dot_k4_##SUFFIX(w, x, nb / 8, 0); } \
    FN static float dot_q5_K_##SUFFIX(const uint8_t *w, smol_qx x, size_t nb) { return dot_k4_##SUFFIX(w, x, nb / 8, 1); } \
    /* Q6_K: 6-bit values (4 low bits in ql, 2 high in qh) minus 32; a scale per 16 values, so the */  \
    /* -32 sum(x) term enters each half's first lane and each half gets its own scale. */              \
    FN static float dot_q6_K_##SUFFIX(const uint8_t *w, smol_qx x, size_t nb) {                           \
        const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3);                              \
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;                                                         \
        for (size_t i = 0; i < nb / 8; i++, w += 210) {                                                   \
            const float d = f16s(w + 208);                                                                \
            for (int n = 0; n < 2; n++) {                                                                 \
                const __m256i l0 = _mm256_loadu_si256((const __m256i *)(w + 64 * n));                     \
                const __m256i l1 = _mm256_loadu_si256((const __m256i *)(w + 64 * n + 32));                \
                const __m256i h = _mm256_loadu_si256((const __m256i *)(w + 128 + 32 * n));                \
                __m256i q[4];                                                                             \
                q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(h, m2), 4));                        \
                q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m2), 4));  \
                q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m2), 4)); \
                q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m2), 4)); \
                const int8_t *sc = (const int8_t *)(w + 192 + 8 * n);                                     \
                for (int k = 0; k < 4; k++) {                                                             \
                    const size_t xb = i * 8 + 4 * (size_t)n + (size_t)k;                                  \
                    const __m256i init = _mm256_setr_epi32(-32 * x.s16[2 * xb], 0, 0, 0, -32 * x.s16[2 * xb + 1], 0, 0, 0); \
                    __m256i p = DOT_U8S8(init, q[k], _mm256_loadu_si256((const __m256i *)(x.q + xb * 32)));   \
                    const float dd = d * x.d[xb];                                                         \
                    const __m256 s = _mm256_setr_m128(_mm_set1_ps(dd * (float)sc[2 * k]), _mm_set1_ps(dd * (float)sc[2 * k + 1])); \
                    if (k % 2) a1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), s, a1);                       \
                    else a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), s, a0);                              \
                }                                                                                         \
            }                                                                                             \
        }                                                                                                 \
        return hsum8(_mm256_add_ps(a0, a1));                                                              \
    }

DEFINE_QUANT_DOTS(avx2, AVX2_FN, smol_dot_u8s8_avx2)
DEFINE_QUANT_DOTS(vnni, VNNI_FN, SMOL_DOT_VNNI)
#endif

typedef float (*qdot_fn)(const uint8_t *, smol_qx, size_t);

#define QDOT_TABLE(S) {dot_q8_0_##S, dot_q4_0_##S, dot_q4_1_##S, dot_q4_K_##S, dot_q5_K_##S, dot_q6_K_##S, dot_q5_0_##S, dot_q5_1_##S}

int smol_quant_level(void) {
#if defined(__x86_64__)
    int isa = smol_isa_active();
    if (isa >= SMOL_ISA_AVX512 && (smol_cpu_features() & SMOL_FEAT_AVX512_VNNI)) return SMOL_QPATH_VNNI;
    if (isa >= SMOL_ISA_AVX2) return SMOL_QPATH_AVX2;
#endif
    return SMOL_QPATH_SCALAR;
}

const char *smol_quant_path(void) {
    static const char *names[] = {"scalar", "avx2", "avx512vnni"};
    return names[smol_quant_level()];
}

static qdot_fn qdot_for(smol_dtype dt) {
    const int k = dt == SMOL_Q5_0 ? 6 : dt == SMOL_Q5_1 ? 7 : (int)dt - (int)SMOL_Q8_0;  // QDOT_TABLE's order
    static const qdot_fn scalar[] = QDOT_TABLE(scalar);
#if defined(__x86_64__)
    static const qdot_fn vnni[] = QDOT_TABLE(vnni), avx2[] = QDOT_TABLE(avx2);
    switch (smol_quant_level()) {
    case SMOL_QPATH_VNNI: return vnni[k];
    case SMOL_QPATH_AVX2: return avx2[k];
    default: break;
    }
#endif
    return scalar[k];
}

void smol_matvec_quant_rows(const void *W, smol_dtype dt, const void *qx, float *y, size_t r0, size_t r1, size_t cols) {
    if (smol_dtype_is_r8(dt)) { smol_matvec_r8_rows(W, dt, qx, 0, 1, y, 0, r0, r1, cols); return; }
    const size_t nb = cols / 32, rb = smol_dtype_row_bytes(dt, cols);  // nb: blocks of 32 values
    const smol_qx x = smol_qx_view(qx, cols);
    const qdot_fn f = qdot_for(dt);
    for (size_t r = r0; r < r1; r++) y[r] = f((const uint8_t *)W + r * rb, x, nb);
}
