// The compute kernels of the interleaved layouts (Q4_0_R8, Q4_1_R8, Q4_K_R8, Q6_K_R8): tiles of
// one group of 8 weight rows against 1..4 activation rows (template r8_tiles.h, once per level),
// and the decode driver over row ranges. The prefill GEMM (gemm_q8.c) runs the same tiles, so a
// token's logits do not depend on whether it was decoded, batched or prefilled.
#include "smol_kernels.h"
#include "internal.h"

#include <string.h>

static inline int32_t ld32(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline int32_t ldi32(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline float ldf32(const uint8_t *p) {
    float v;
    memcpy(&v, p, 4);
    return v;
}

#if defined(__x86_64__)
#include <immintrin.h>

#define TILE_FN __attribute__((target("avx2,fma,f16c")))
#define TILE_NAME(x) x##_avx2
#define TILE_DOT(acc, u, s) smol_dot_u8s8_avx2(acc, u, s)
#define TILE_MAX 2  // 16 ymm registers
#define TILE_MAX_Q6 3  // Q6_K: one accumulator and two sums per row
#include "r8_tiles.h"
#undef TILE_FN
#undef TILE_NAME
#undef TILE_DOT
#undef TILE_MAX
#undef TILE_MAX_Q6

#define TILE_FN __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))
#define TILE_NAME(x) x##_vnni
#define TILE_DOT(acc, u, s) SMOL_DOT_VNNI(acc, u, s)
#define TILE_MAX 4  // 32 ymm registers
#define TILE_MAX_Q6 6
#include "r8_tiles.h"
#undef TILE_FN
#undef TILE_NAME
#undef TILE_DOT
#undef TILE_MAX
#undef TILE_MAX_Q6

// Pair tiles (AVX512_VNNI, for the prefill GEMM): two adjacent groups (16 rows) in the two halves
// of a zmm, so one broadcast of 4 activation bytes feeds 16 rows instead of 8. Every lane runs
// the ymm tile's operations in the same order (integer sums are exact in any order; the float
// steps are the same products, conversions and FMAs), so each row's result is bit-identical to
// the single-group tile's, and so to decode. out[m * ldo + lane], lane 0..15.
#define PAIR_FN __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))
enum { PAIR_Q4K_MAX = 6, PAIR_Q6K_MAX = 6 };  // rows per pair tile: 3 accumulators each

PAIR_FN static inline __m512i pair_load(const uint8_t *a, size_t gbytes) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a)),
                              _mm256_loadu_si256((const __m256i *)(a + gbytes)), 1);
}
PAIR_FN static inline __m512 pair_f16(const uint8_t *a, size_t gbytes) {  // 8 f16 of each group
    return _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)a)),
                                                   _mm_loadu_si128((const __m128i *)(a + gbytes)), 1));
}
PAIR_FN static inline __m512 pair_u8(const uint8_t *a, size_t gbytes) {  // 8 bytes of each group
    const __m128i v = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)a), _mm_loadl_epi64((const __m128i *)(a + gbytes)));
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(v));
}

PAIR_FN __attribute__((always_inline)) static inline void pair_q4_body(const uint8_t *g, size_t gbytes, const uint8_t *qxb,
                                                                       size_t qs, size_t cols, float *out, size_t ldo,
                                                                       const int q41, const int MR) {
    // Row m's quantized x at qxb + m * qs (smol_qx_view's layout), addressed from one base.
    const size_t nb = cols / 32, gbb = q41 ? 160 : 144, hb = q41 ? 32 : 16;
    const size_t doff = (cols + 63) / 64 * 64, dsoff = doff + nb * 4, soff = doff + nb * 8;
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512 acc0[4], acc1[4], macc[4];
    for (int m = 0; m < MR; m++) acc0[m] = acc1[m] = macc[m] = _mm512_setzero_ps();
    for (size_t b = 0; b < nb; b++, g += gbb) {
        __m512i wl[4], wh[4];
        SMOL_UNROLL for (int q = 0; q < 4; q++) {
            const __m512i raw = pair_load(g + hb + 32 * q, gbytes);
            wl[q] = _mm512_and_si512(raw, m4);
            wh[q] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
        }
        const __m512 dw = pair_f16(g, gbytes);
        const __m512 mw = q41 ? pair_f16(g + 16, gbytes) : _mm512_setzero_ps();
        const uint8_t *xq = qxb + b * 32;
        for (int m = 0; m < MR; m++) {
            const size_t mo = (size_t)m * qs;
            __m512i lo = q41 ? _mm512_setzero_si512() : _mm512_set1_epi32(-8 * ldi32(qxb + soff + 4 * b + mo)), hi = _mm512_setzero_si512();
            SMOL_UNROLL for (int q = 0; q < 4; q++) {
                lo = _mm512_dpbusd_epi32(lo, wl[q], _mm512_set1_epi32(ldi32(xq + mo + 4 * q)));
                hi = _mm512_dpbusd_epi32(hi, wh[q], _mm512_set1_epi32(ldi32(xq + mo + 16 + 4 * q)));
            }
            const __m512 sc = _mm512_mul_ps(dw, _mm512_set1_ps(ldf32(qxb + doff + 4 * b + mo)));
            const __m512 v = _mm512_cvtepi32_ps(_mm512_add_epi32(lo, hi));
            if (b % 2) acc1[m] = _mm512_fmadd_ps(v, sc, acc1[m]);
            else acc0[m] = _mm512_fmadd_ps(v, sc, acc0[m]);
            if (q41) macc[m] = _mm512_fmadd_ps(mw, _mm512_set1_ps(ldf32(qxb + dsoff + 4 * b + mo)), macc[m]);
        }
    }
    for (int m = 0; m < MR; m++) _mm512_storeu_ps(out + (size_t)m * ldo, _mm512_add_ps(_mm512_add_ps(acc0[m], acc1[m]), macc[m]));
}

PAIR_FN __attribute__((always_inline)) static inline void pair_q4k_body(const uint8_t *g, size_t gbytes, const uint8_t *qxb,
                                                                        size_t qs, size_t cols, float *out, size_t ldo,
                                                                        const int MR) {
    // The ymm tile's operations (r8_tiles.h) on 16 lanes.
    const size_t nsb = cols / 256, nb = cols / 32, doff = (cols + 63) / 64 * 64, dsoff = doff + nb * 4;
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512 acc[PAIR_Q4K_MAX];
    for (int m = 0; m < MR; m++) acc[m] = _mm512_setzero_ps();
    for (size_t b = 0; b < nsb; b++, g += SMOL_R8K_GSB) {
        const __m512 d = pair_f16(g, gbytes), dmin = pair_f16(g + 16, gbytes);
        for (int p = 0; p < 4; p++) {
            const size_t xb = b * 8 + 2 * (size_t)p;
            const __m512 ds0 = _mm512_mul_ps(d, pair_u8(g + SMOL_R8K_SC + 16 * p, gbytes));
            const __m512 ds1 = _mm512_mul_ps(d, pair_u8(g + SMOL_R8K_SC + 16 * p + 8, gbytes));
            const __m512 dm0 = _mm512_mul_ps(dmin, pair_u8(g + SMOL_R8K_M + 16 * p, gbytes));
            const __m512 dm1 = _mm512_mul_ps(dmin, pair_u8(g + SMOL_R8K_M + 16 * p + 8, gbytes));
            __m512i lo[PAIR_Q4K_MAX], hi[PAIR_Q4K_MAX];
            for (int m = 0; m < MR; m++) lo[m] = hi[m] = _mm512_setzero_si512();
            const uint8_t *qsp = g + SMOL_R8K_QS + 256 * p, *xq = qxb + xb * 32;
            SMOL_UNROLL for (int q = 0; q < 8; q++) {
                const __m512i raw = pair_load(qsp + 32 * q, gbytes);
                const __m512i wl = _mm512_and_si512(raw, m4), wh = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
                for (int m = 0; m < MR; m++) {
                    const size_t mo = (size_t)m * qs;
                    lo[m] = _mm512_dpbusd_epi32(lo[m], wl, _mm512_set1_epi32(ldi32(xq + mo + 4 * q)));
                    hi[m] = _mm512_dpbusd_epi32(hi[m], wh, _mm512_set1_epi32(ldi32(xq + mo + 32 + 4 * q)));
                }
            }
            for (int m = 0; m < MR; m++) {
                const size_t mo = (size_t)m * qs;
                const __m512 s0 = _mm512_mul_ps(ds0, _mm512_set1_ps(ldf32(qxb + doff + 4 * xb + mo)));
                const __m512 s1 = _mm512_mul_ps(ds1, _mm512_set1_ps(ldf32(qxb + doff + 4 * xb + 4 + mo)));
                acc[m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(lo[m]), s0, acc[m]);
                acc[m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(hi[m]), s1, acc[m]);
                acc[m] = _mm512_fnmadd_ps(dm0, _mm512_set1_ps(ldf32(qxb + dsoff + 4 * xb + mo)), acc[m]);
                acc[m] = _mm512_fnmadd_ps(dm1, _mm512_set1_ps(ldf32(qxb + dsoff + 4 * xb + 4 + mo)), acc[m]);
            }
        }
    }
    for (int m = 0; m < MR; m++) _mm512_storeu_ps(out + (size_t)m * ldo, acc[m]);
}

// Q6_K: the ymm tile's order (n, h, k, t) on 16 lanes.
PAIR_FN static inline __m512 pair_s8(const uint8_t *a, size_t gbytes) {  // 8 signed bytes of each group
    const __m128i v = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)a), _mm_loadl_epi64((const __m128i *)(a + gbytes)));
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(v));
}

PAIR_FN __attribute__((always_inline)) static inline __m512i pair_q6k_w(const uint8_t *st, size_t gbytes, const int k) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), m2 = _mm512_set1_epi8(3);
    const __m512i l = pair_load(st + 32 * (k & 1), gbytes), qh = pair_load(st + 64, gbytes);
    const __m512i lo4 = k < 2 ? _mm512_and_si512(l, m4) : _mm512_and_si512(_mm512_srli_epi16(l, 4), m4);
    const __m512i hi2 = k == 0 ? _mm512_and_si512(qh, m2) : _mm512_and_si512(_mm512_srli_epi16(qh, 2 * k), m2);
    return _mm512_or_si512(lo4, _mm512_slli_epi16(hi2, 4));
}

PAIR_FN __attribute__((always_inline)) static inline void pair_q6k_body(const uint8_t *g, size_t gbytes, const uint8_t *qxb,
                                                                        size_t qs, size_t cols, float *out, size_t ldo,
                                                                        const int MR) {
    const size_t nsb = cols / 256, nb = cols / 32, doff = (cols + 63) / 64 * 64, s16off = doff + nb * 12;
    __m512 acc[2][PAIR_Q6K_MAX];
    for (int m = 0; m < MR; m++) acc[0][m] = acc[1][m] = _mm512_setzero_ps();
    for (size_t b = 0; b < nsb; b++, g += SMOL_R8Q6_GSB) {
        const __m512 d = pair_f16(g + SMOL_R8Q6_D, gbytes);
        for (int n = 0; n < 2; n++) {
            const size_t xb0 = b * 8 + 4 * (size_t)n;
            SMOL_UNROLL for (int h = 0; h < 2; h++) {
                SMOL_UNROLL for (int k = 0; k < 4; k++) {
                    const size_t xb = xb0 + (size_t)k;
                    const uint8_t *xq = qxb + xb * 32, *xd = qxb + doff + xb * 4, *xs = qxb + s16off + (2 * xb + (size_t)h) * 4;
                    __m512i a[PAIR_Q6K_MAX];
                    for (int m = 0; m < MR; m++) a[m] = _mm512_set1_epi32(-32 * ldi32(xs + (size_t)m * qs));
                    SMOL_UNROLL for (int t = 4 * h; t < 4 * h + 4; t++) {
                        const __m512i w = pair_q6k_w(g + (size_t)(n * 8 + t) * SMOL_R8Q6_STEP, gbytes, k);
                        for (int m = 0; m < MR; m++)
                            a[m] = _mm512_dpbusd_epi32(a[m], w, _mm512_set1_epi32(ldi32(xq + (size_t)m * qs + 4 * (size_t)t)));
                    }
                    const __m512 sc = pair_s8(g + SMOL_R8Q6_SC + 8 * (8 * n + 2 * k + h), gbytes);
                    for (int m = 0; m < MR; m++) {
                        const __m512 sm = _mm512_mul_ps(_mm512_mul_ps(d, _mm512_set1_ps(ldf32(xd + (size_t)m * qs))), sc);
                        acc[h][m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a[m]), sm, acc[h][m]);
                    }
                }
            }
        }
    }
    for (int m = 0; m < MR; m++) _mm512_storeu_ps(out + (size_t)m * ldo, _mm512_add_ps(acc[0][m], acc[1][m]));
}

PAIR_FN static void pair_q6k(const uint8_t *g, const uint8_t *qx, size_t qs, int mr, size_t cols, smol_dtype dt, float *out,
                             size_t ldo) {
    const size_t gbytes = 8 * smol_dtype_row_bytes(dt, cols);
#define PAIR_Q6K_CASE(M) \
    case M: pair_q6k_body(g, gbytes, qx, qs, cols, out, ldo, M); break;
    switch (mr) { PAIR_Q6K_CASE(1) PAIR_Q6K_CASE(2) PAIR_Q6K_CASE(3) PAIR_Q6K_CASE(4) PAIR_Q6K_CASE(5) PAIR_Q6K_CASE(6) default: break; }
#undef PAIR_Q6K_CASE
}

PAIR_FN static void pair_q4(const uint8_t *g, const uint8_t *qx, size_t qs, int mr, size_t cols, smol_dtype dt, float *out,
                            size_t ldo) {
    const size_t gbytes = 8 * smol_dtype_row_bytes(dt, cols);
    const int q41 = dt == SMOL_Q4_1_R8;
#define PAIR_Q4_CASE(M) \
    case M: q41 ? pair_q4_body(g, gbytes, qx, qs, cols, out, ldo, 1, M) : pair_q4_body(g, gbytes, qx, qs, cols, out, ldo, 0, M); break;
    switch (mr) { PAIR_Q4_CASE(1) PAIR_Q4_CASE(2) PAIR_Q4_CASE(3) PAIR_Q4_CASE(4) default: break; }
#undef PAIR_Q4_CASE
}

PAIR_FN static void pair_q4k(const uint8_t *g, const uint8_t *qx, size_t qs, int mr, size_t cols, smol_dtype dt, float *out,
                             size_t ldo) {
    const size_t gbytes = 8 * smol_dtype_row_bytes(dt, cols);
#define PAIR_Q4K_CASE(M) \
    case M: pair_q4k_body(g, gbytes, qx, qs, cols, out, ldo, M); break;
    switch (mr) { PAIR_Q4K_CASE(1) PAIR_Q4K_CASE(2) PAIR_Q4K_CASE(3) PAIR_Q4K_CASE(4) PAIR_Q4K_CASE(5) PAIR_Q4K_CASE(6) default: break; }
#undef PAIR_Q4K_CASE
}
#endif

// Scalar: each row through the reference group kernel.
static void tile_scalar(const uint8_t *g, const uint8_t *qx, size_t qs, int mr, size_t cols, smol_dtype dt, float *out,
                        size_t ldo) {
    void (*f)(const uint8_t *, const void *, size_t, smol_dtype, float[8]) =
        dt == SMOL_Q4_K_R8 ? smol_r8k_group_scalar : dt == SMOL_Q6_K_R8 ? smol_r8q6_group_scalar : smol_r8q4_group_scalar;
    for (int m = 0; m < mr; m++) f(g, qx + (size_t)m * qs, cols, dt, out + (size_t)m * ldo);
}

smol_r8_tile_fn smol_r8_pair_tile(smol_dtype dt, int qpath, int *max_rows) {
#if defined(__x86_64__)
    if (qpath == SMOL_QPATH_VNNI) {
        *max_rows = dt == SMOL_Q4_K_R8 ? PAIR_Q4K_MAX : dt == SMOL_Q6_K_R8 ? PAIR_Q6K_MAX : 4;
        return dt == SMOL_Q4_K_R8 ? pair_q4k : dt == SMOL_Q6_K_R8 ? pair_q6k : pair_q4;
    }
#endif
    (void)dt; (void)qpath;
    *max_rows = 0;
    return NULL;
}

smol_r8_tile_fn smol_r8_tile(smol_dtype dt, int qpath, int *max_rows) {
#if defined(__x86_64__)
    if (qpath == SMOL_QPATH_VNNI) {
        *max_rows = dt == SMOL_Q6_K_R8 ? 6 : 4;  // Q6_K: 6 rows measured fastest (8 spill)
        return dt == SMOL_Q4_K_R8 ? tile_q4k_vnni : dt == SMOL_Q6_K_R8 ? tile_q6k_vnni : tile_q4_vnni;
    }
    if (qpath == SMOL_QPATH_AVX2) {
        *max_rows = dt == SMOL_Q6_K_R8 ? 3 : 2;
        return dt == SMOL_Q4_K_R8 ? tile_q4k_avx2 : dt == SMOL_Q6_K_R8 ? tile_q6k_avx2 : tile_q4_avx2;
    }
#endif
    (void)qpath;
    *max_rows = 4;
    return tile_scalar;
}

void smol_matvec_r8_rows(const void *W, smol_dtype dt, const uint8_t *qx, size_t qx_stride, size_t n, float *y, size_t ldy,
                         size_t r0, size_t r1, size_t cols) {
    // The single-group tiles: one weight stream, which decode (memory-bound) reads faster than the
    // pair tiles' two (measured: 3B Q4_K_M decode 15.5 -> 12.1 tokens/s with pairs).
    int max_rows;
    const smol_r8_tile_fn f = smol_r8_tile(dt, smol_quant_level(), &max_rows);
    const size_t gbytes = 8 * smol_dtype_row_bytes(dt, cols);
    for (size_t g = r0 / 8; g * 8 < r1; g++) {
        const uint8_t *gp = (const uint8_t *)W + g * gbytes;
        const int whole = g * 8 >= r0 && g * 8 + 8 <= r1;
        for (size_t t0 = 0; t0 < n; t0 += (size_t)max_rows) {
            const int mr = n - t0 < (size_t)max_rows ? (int)(n - t0) : max_rows;
            if (whole) {
                f(gp, qx + t0 * qx_stride, qx_stride, mr, cols, dt, y + t0 * ldy + g * 8, ldy);
                continue;
            }
            float out[8 * 8];  // max_rows <= 8
            f(gp, qx + t0 * qx_stride, qx_stride, mr, cols, dt, out, 8);
            for (int m = 0; m < mr; m++)
                for (size_t i = 0; i < 8; i++) {
                    const size_t r = g * 8 + i;
                    if (r >= r0 && r < r1) y[(t0 + (size_t)m) * ldy + r] = out[m * 8 + (int)i];
                }
        }
    }
}
