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

#if defined(__x86_64__)
#include <immintrin.h>

#define TILE_FN __attribute__((target("avx2,fma,f16c")))
#define TILE_NAME(x) x##_avx2
#define TILE_DOT(acc, u, s) smol_dot_u8s8_avx2(acc, u, s)
#define TILE_MAX 2  // 16 ymm registers
#include "r8_tiles.h"
#undef TILE_FN
#undef TILE_NAME
#undef TILE_DOT
#undef TILE_MAX

#define TILE_FN __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))
#define TILE_NAME(x) x##_vnni
#define TILE_DOT(acc, u, s) SMOL_DOT_VNNI(acc, u, s)
#define TILE_MAX 4  // 32 ymm registers
#include "r8_tiles.h"
#undef TILE_FN
#undef TILE_NAME
#undef TILE_DOT
#undef TILE_MAX
#endif

// Scalar: each row through the reference group kernel.
static void tile_scalar(const uint8_t *g, const uint8_t *qx, size_t qs, int mr, size_t cols, smol_dtype dt, float *out,
                        size_t ldo) {
    void (*f)(const uint8_t *, const void *, size_t, smol_dtype, float[8]) =
        dt == SMOL_Q4_K_R8 ? smol_r8k_group_scalar : dt == SMOL_Q6_K_R8 ? smol_r8q6_group_scalar : smol_r8q4_group_scalar;
    for (int m = 0; m < mr; m++) f(g, qx + (size_t)m * qs, cols, dt, out + (size_t)m * ldo);
}

smol_r8_tile_fn smol_r8_tile(smol_dtype dt, int qpath, int *max_rows) {
#if defined(__x86_64__)
    if (qpath == SMOL_QPATH_VNNI) {
        *max_rows = dt == SMOL_Q6_K_R8 ? 3 : 4;  // Q6_K: 4 sums per row, 3 rows fill the registers
        return dt == SMOL_Q4_K_R8 ? tile_q4k_vnni : dt == SMOL_Q6_K_R8 ? tile_q6k_vnni : tile_q4_vnni;
    }
    if (qpath == SMOL_QPATH_AVX2) {
        *max_rows = dt == SMOL_Q6_K_R8 ? 1 : 2;
        return dt == SMOL_Q4_K_R8 ? tile_q4k_avx2 : dt == SMOL_Q6_K_R8 ? tile_q6k_avx2 : tile_q4_avx2;
    }
#endif
    (void)qpath;
    *max_rows = 4;
    return tile_scalar;
}

void smol_matvec_r8_rows(const void *W, smol_dtype dt, const uint8_t *qx, size_t qx_stride, size_t n, float *y, size_t ldy,
                         size_t r0, size_t r1, size_t cols) {
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
            float out[4 * 8];
            f(gp, qx + t0 * qx_stride, qx_stride, mr, cols, dt, out, 8);
            for (int m = 0; m < mr; m++)
                for (size_t i = 0; i < 8; i++) {
                    const size_t r = g * 8 + i;
                    if (r >= r0 && r < r1) y[(t0 + (size_t)m) * ldy + r] = out[m * 8 + (int)i];
                }
        }
    }
}
