// Q6_K with rows interleaved by 8 (SMOL_Q6_K_R8), for decode as matvec_r8.c does for Q4_0/Q4_1.
// Q6_K is the other half of a Q4_K_M file (attn_v, half of ffn_down, the output matrix). Same
// bytes as 8 plain blocks, regrouped so one 32-byte load holds 4 values' bits of 8 rows:
//
//   group-superblock (8 rows x 256 values), 1680 bytes, read front to back:
//     step[2 halves n][8 t] = { ql0[8 rows][4], ql1[8 rows][4], qh[8 rows][4] } | d[8] f16 | sc[16][8 rows] i8
//   qlj[r] = row r's ql bytes 64n + 32j + 4t ..+3; qh[r] = its qh bytes 32n + 4t ..+3, so value
//   group k (0..3) of half n is ql(k % 2) (low nibbles for k < 2, high for k >= 2) with qh bits
//   2k, 2k+1, minus 32, scaled by sc[8n + 2k + (t >= 4)]. (Three regions read in turn defeated
//   the hardware prefetcher: 5 GB/s against 19 for plain Q6_K; one sequential stream does not.)
#include "smol_kernels.h"
#include "internal.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define AVX2_FN __attribute__((target("avx2,fma,f16c")))
#define VNNI_FN __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))
#endif

enum { GSB = 1680, STEP = 96, OFF_D = 1536, OFF_SC = 1552 };

void smol_repack_r8q6_rows(const uint8_t *src, size_t row_bytes, size_t cols, const int32_t *row_map, size_t g0, size_t g1,
                           uint8_t *dst) {
    const size_t nsb = cols / 256;
    for (size_t g = g0; g < g1; g++)
        for (size_t lane = 0; lane < 8; lane++) {
            const size_t r = g * 8 + lane, sr = row_map ? (size_t)row_map[r] : r;
            for (size_t b = 0; b < nsb; b++) {
                const uint8_t *s = src + sr * row_bytes + b * 210;
                uint8_t *d = dst + (g * nsb + b) * GSB;
                memcpy(d + OFF_D + 2 * lane, s + 208, 2);
                for (int j = 0; j < 16; j++) d[OFF_SC + 8 * j + lane] = s[192 + j];
                for (int n = 0; n < 2; n++)
                    for (int t = 0; t < 8; t++) {
                        uint8_t *st = d + (n * 8 + t) * STEP + 4 * lane;
                        for (int j = 0; j < 2; j++) memcpy(st + 32 * j, s + 64 * n + 32 * j + 4 * t, 4);
                        memcpy(st + 64, s + 128 + 32 * n + 4 * t, 4);
                    }
            }
        }
}

// Plain Q6_K super-blocks [b0, b0 + nb) of row r into out (nb * 210 bytes).
void smol_r8q6_unpack_row(const void *W, size_t cols, size_t r, size_t b0, size_t nb, uint8_t *out) {
    const uint8_t *gp = (const uint8_t *)W + (r / 8) * (cols / 256) * GSB;
    const size_t lane = r % 8;
    for (size_t b = b0; b < b0 + nb; b++, out += 210) {
        const uint8_t *s = gp + b * GSB;
        memcpy(out + 208, s + OFF_D + 2 * lane, 2);
        for (int j = 0; j < 16; j++) out[192 + j] = s[OFF_SC + 8 * j + lane];
        for (int n = 0; n < 2; n++)
            for (int t = 0; t < 8; t++) {
                const uint8_t *st = s + (n * 8 + t) * STEP + 4 * lane;
                for (int j = 0; j < 2; j++) memcpy(out + 64 * n + 32 * j + 4 * t, st + 32 * j, 4);
                memcpy(out + 128 + 32 * n + 4 * t, st + 64, 4);
            }
    }
}

// The scalar path: each row back to plain blocks, through the plain kernel.
static void group_q6_scalar(const uint8_t *g, const void *qx, size_t cols, smol_dtype dt, float out[8]) {
    (void)dt;
    static _Thread_local void *buf = NULL;
    static _Thread_local size_t cap = 0;
    uint8_t *row = smol_grow(&buf, &cap, cols / 256 * 210);
    if (!row) return;
    for (size_t lane = 0; lane < 8; lane++) {
        smol_r8q6_unpack_row(g, cols, lane, 0, cols / 256, row);
        smol_matvec_quant_rows(row, SMOL_Q6_K, qx, out + lane, 0, 1, cols);
    }
}

#if defined(__x86_64__)
// One 4-value step t of a half: 8 rows' bits of the four value groups, against x's 4 bytes each.
#define Q6_STEP_BODY(DOT_U8S8, t, A0, A1, A2, A3)                                                             \
    {                                                                                                         \
        const __m256i l0 = _mm256_loadu_si256((const __m256i *)(st0 + STEP * (t)));                           \
        const __m256i l1 = _mm256_loadu_si256((const __m256i *)(st0 + STEP * (t) + 32));                      \
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(st0 + STEP * (t) + 64));                      \
        const __m256i q0 = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4)); \
        const __m256i q1 = _mm256_or_si256(_mm256_and_si256(l1, m4),                                          \
                                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4)); \
        const __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),                    \
                                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4)); \
        const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),                    \
                                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4)); \
        int32_t xv0, xv1, xv2, xv3;                                                                           \
        memcpy(&xv0, xq + 4 * (t), 4);                                                                        \
        memcpy(&xv1, xq + 32 + 4 * (t), 4);                                                                   \
        memcpy(&xv2, xq + 64 + 4 * (t), 4);                                                                   \
        memcpy(&xv3, xq + 96 + 4 * (t), 4);                                                                   \
        A0 = DOT_U8S8(A0, q0, _mm256_set1_epi32(xv0));                                                        \
        A1 = DOT_U8S8(A1, q1, _mm256_set1_epi32(xv1));                                                        \
        A2 = DOT_U8S8(A2, q2, _mm256_set1_epi32(xv2));                                                        \
        A3 = DOT_U8S8(A3, q3, _mm256_set1_epi32(xv3));                                                        \
    }
#define Q6_STEP_avx2(t, A0, A1, A2, A3) Q6_STEP_BODY(smol_dot_u8s8_avx2, t, A0, A1, A2, A3)
#define Q6_STEP_vnni(t, A0, A1, A2, A3) Q6_STEP_BODY(SMOL_DOT_VNNI, t, A0, A1, A2, A3)

#define DEFINE_GROUP_Q6(SUFFIX, FN, DOT_U8S8)                                                                 \
    FN static void group_q6_##SUFFIX(const uint8_t *g, const void *qxbuf, size_t cols, smol_dtype dt, float out[8]) { \
        (void)dt;                                                                                             \
        const smol_qx x = smol_qx_view(qxbuf, cols);                                                          \
        const size_t nsb = cols / 256;                                                                        \
        const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3);                                  \
        __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;                                                       \
        for (size_t b = 0; b < nsb; b++, g += GSB) {                                                          \
            const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(g + OFF_D)));                  \
            for (int n = 0; n < 2; n++) {                                                                     \
                const size_t xb0 = b * 8 + 4 * (size_t)n;  /* x block of value group k: xb0 + k */            \
                /* Accumulators per value group k and 16-value half: a* for t < 4, b* for t >= 4. */       \
                __m256i a0 = _mm256_set1_epi32(-32 * x.s16[2 * xb0]), a1 = _mm256_set1_epi32(-32 * x.s16[2 * xb0 + 2]); \
                __m256i a2 = _mm256_set1_epi32(-32 * x.s16[2 * xb0 + 4]), a3 = _mm256_set1_epi32(-32 * x.s16[2 * xb0 + 6]); \
                __m256i b0 = _mm256_set1_epi32(-32 * x.s16[2 * xb0 + 1]), b1 = _mm256_set1_epi32(-32 * x.s16[2 * xb0 + 3]); \
                __m256i b2 = _mm256_set1_epi32(-32 * x.s16[2 * xb0 + 5]), b3 = _mm256_set1_epi32(-32 * x.s16[2 * xb0 + 7]); \
                const uint8_t *st0 = g + n * 8 * STEP;                                                        \
                const int8_t *xq = x.q + xb0 * 32;                                                            \
                for (int t = 0; t < 4; t++) Q6_STEP_##SUFFIX(t, a0, a1, a2, a3)                               \
                for (int t = 4; t < 8; t++) Q6_STEP_##SUFFIX(t, b0, b1, b2, b3)                               \
                const __m256i is[4][2] = {{a0, b0}, {a1, b1}, {a2, b2}, {a3, b3}};                            \
                for (int k = 0; k < 4; k++) {                                                                 \
                    const __m256 dd = _mm256_mul_ps(d, _mm256_set1_ps(x.d[xb0 + (size_t)k]));                 \
                    for (int h = 0; h < 2; h++) {                                                             \
                        const uint8_t *sc = g + OFF_SC + 8 * (8 * n + 2 * k + h);                             \
                        const __m256 s = _mm256_mul_ps(dd, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)sc)))); \
                        if (h) acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is[k][h]), s, acc1);                 \
                        else acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is[k][h]), s, acc0);                   \
                    }                                                                                         \
                }                                                                                             \
            }                                                                                                 \
        }                                                                                                     \
        _mm256_storeu_ps(out, _mm256_add_ps(acc0, acc1));                                                     \
    }

DEFINE_GROUP_Q6(avx2, AVX2_FN, smol_dot_u8s8_avx2)
DEFINE_GROUP_Q6(vnni, VNNI_FN, SMOL_DOT_VNNI)
#endif

smol_r8_group_fn smol_r8q6_group(int qpath) {
#if defined(__x86_64__)
    if (qpath == SMOL_QPATH_VNNI) return group_q6_vnni;
    if (qpath == SMOL_QPATH_AVX2) return group_q6_avx2;
#endif
    (void)qpath;
    return group_q6_scalar;
}
