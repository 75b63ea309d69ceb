// Q4_K with rows interleaved by 8 (SMOL_Q4_K_R8), for decode as matvec_r8.c does for Q4_0/Q4_1.
// The 6-bit sub-block scales and mins are unpacked to bytes at load, so the kernel reads 8 rows'
// scales of a sub-block as one 8-byte load instead of decoding 12 packed bytes per row:
//
//   group-superblock (8 rows x 256 values), 1184 bytes (8 plain blocks are 1152: +2.8%):
//     d[8] f16 | dmin[8] f16 | sc[8 sub][8 rows] u8 | m[8 sub][8 rows] u8 | qs[4 pairs][8 g][8 rows][4]
//   qs[p][g][r][t] = byte 32p + 4g + t of row r's qs: low nibble is value 4g + t of sub-block 2p,
//   high nibble the same value of sub-block 2p + 1.
#include "smol_kernels.h"
#include "internal.h"

#include <string.h>

enum { GSB = SMOL_R8K_GSB, OFF_SC = SMOL_R8K_SC, OFF_M = SMOL_R8K_M, OFF_QS = SMOL_R8K_QS };

static inline void scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {  // ggml's get_scale_min_k4
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

void smol_repack_r8k_rows(const uint8_t *src, size_t row_bytes, size_t cols, const int32_t *row_map, size_t g0, size_t g1,
                          uint8_t *dst) {
    const size_t nsb = cols / 256;
    for (size_t g = g0; g < g1; g++) {
        uint8_t *dg = dst + g * nsb * GSB;
        for (size_t lane = 0; lane < 8; lane++) {
            const size_t r = g * 8 + lane, sr = row_map ? (size_t)row_map[r] : r;
            for (size_t b = 0; b < nsb; b++) {
                const uint8_t *s = src + sr * row_bytes + b * 144;
                uint8_t *d = dg + b * GSB;
                memcpy(d + 2 * lane, s, 2);
                memcpy(d + 16 + 2 * lane, s + 2, 2);
                for (int j = 0; j < 8; j++) scale_min(j, s + 4, d + OFF_SC + 8 * j + lane, d + OFF_M + 8 * j + lane);
                for (int p = 0; p < 4; p++)
                    for (int q = 0; q < 8; q++) memcpy(d + OFF_QS + 256 * p + 32 * q + 4 * lane, s + 16 + 32 * p + 4 * q, 4);
            }
        }
    }
}

// f32 values of row r, values [k0, k0 + n) (multiples of 256), as gguf-py's dequantize computes
// them: d1 = d * sc, m1 = dmin * m, then d1 * q - m1, each rounded (no fused multiply-add).
void smol_r8k_dequantize_row(const void *W, size_t cols, size_t r, size_t k0, size_t n, float *out) {
#pragma clang fp contract(off)
    const uint8_t *g = (const uint8_t *)W + (r / 8) * (cols / 256) * GSB;
    const size_t lane = r % 8;
    for (size_t b = k0 / 256; b < (k0 + n) / 256; b++, out += 256) {
        const uint8_t *s = g + b * GSB;
        const float d = smol_f16_to_f32((uint16_t)(s[2 * lane] | s[2 * lane + 1] << 8));
        const float dmin = smol_f16_to_f32((uint16_t)(s[16 + 2 * lane] | s[17 + 2 * lane] << 8));
        for (int j = 0; j < 8; j++) {
            const float d1 = d * (float)s[OFF_SC + 8 * j + lane], m1 = dmin * (float)s[OFF_M + 8 * j + lane];
            for (int l = 0; l < 32; l++) {
                const uint8_t byte = s[OFF_QS + 256 * (j / 2) + 32 * (l / 4) + 4 * lane + l % 4];
                out[32 * j + l] = d1 * (float)(j % 2 ? byte >> 4 : byte & 0xF) - m1;
            }
        }
    }
}

void smol_r8k_group_scalar(const uint8_t *g, const void *qxbuf, size_t cols, smol_dtype dt, float out[8]) {
    const smol_qx x = smol_qx_view(qxbuf, cols);
    (void)dt;
    const size_t nsb = cols / 256;
    for (size_t lane = 0; lane < 8; lane++) {
        float acc = 0, macc = 0;
        for (size_t b = 0; b < nsb; b++) {
            const uint8_t *s = g + b * GSB;
            const float d = smol_f16_to_f32((uint16_t)(s[2 * lane] | s[2 * lane + 1] << 8));
            const float dmin = smol_f16_to_f32((uint16_t)(s[16 + 2 * lane] | s[17 + 2 * lane] << 8));
            for (int j = 0; j < 8; j++) {
                const size_t xb = b * 8 + (size_t)j;
                int32_t isum = 0;
                for (int l = 0; l < 32; l++) {
                    const uint8_t byte = s[OFF_QS + 256 * (j / 2) + 32 * (l / 4) + 4 * lane + l % 4];
                    isum += (j % 2 ? byte >> 4 : byte & 0xF) * x.q[xb * 32 + (size_t)l];
                }
                acc += d * (float)s[OFF_SC + 8 * j + lane] * x.d[xb] * (float)isum;
                macc += dmin * (float)s[OFF_M + 8 * j + lane] * x.ds[xb];
            }
        }
        out[lane] = acc - macc;
    }
}
