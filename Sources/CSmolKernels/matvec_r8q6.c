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

enum { GSB = SMOL_R8Q6_GSB, STEP = SMOL_R8Q6_STEP, OFF_D = SMOL_R8Q6_D, OFF_SC = SMOL_R8Q6_SC };

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
void smol_r8q6_group_scalar(const uint8_t *g, const void *qx, size_t cols, smol_dtype dt, float out[8]) {
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
