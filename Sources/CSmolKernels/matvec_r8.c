// Q4_0 and Q4_1 with rows interleaved by 8 (SMOL_Q4_0_R8, SMOL_Q4_1_R8): the layout decode
// wants. Read one row at a time, a 4-bit block costs about 16 instructions (nibble unpacking,
// an f16 scale through the scalar unit, a horizontal spread of the integer sum); decode of a
// Q4 3B model was compute-bound at half the memory bandwidth. Interleaved, one 32-byte load
// holds the same 4 bytes of 8 rows, so each vpdpbusd against a broadcast of 4 activation bytes
// yields 8 rows' partial sums in 8 lanes, and the 8 rows' scales are one f16x8 load:
//
//   group-block (8 rows x 32 values), Q4_0: d[8] f16 | qs[4][8][4]            = 144 bytes
//                                      Q4_1: d[8] f16 | m[8] f16 | qs[4][8][4] = 160 bytes
//   qs[g][r][t] = byte 4g + t of row r's block (low nibble: value 4g + t, high: 16 + 4g + t)
//
// A group's blocks follow each other (group-block b at b * size), groups follow each other: the
// same bytes as 8 plain rows, so the repacked tensor replaces the mapped one at the same size.
// Integer sums are exact and each row gets d_w d_x sum once per block, as the plain kernels.
#include "smol_kernels.h"
#include "internal.h"

#include <string.h>

smol_dtype smol_dtype_r8_base(smol_dtype dt) {
    switch (dt) {
    case SMOL_Q4_0_R8: return SMOL_Q4_0;
    case SMOL_Q4_1_R8: return SMOL_Q4_1;
    case SMOL_Q4_K_R8: return SMOL_Q4_K;
    case SMOL_Q6_K_R8: return SMOL_Q6_K;
    default: return dt;
    }
}

static inline size_t hdr_bytes(smol_dtype base) { return base == SMOL_Q4_1 ? 32 : 16; }

// Plain blocks [b0, b0 + nb) of row r of an interleaved matrix into out (nb * bb bytes).
void smol_r8_unpack_row(smol_dtype dt, const void *W, size_t cols, size_t r, size_t b0, size_t nb, uint8_t *out) {
    const smol_dtype base = smol_dtype_r8_base(dt);
    const size_t bb = smol_dtype_block_bytes(base), gbb = 8 * bb, hb = hdr_bytes(base);
    const uint8_t *g = (const uint8_t *)W + (r / 8) * (cols / 32) * gbb;
    const size_t lane = r % 8;
    for (size_t b = b0; b < b0 + nb; b++, out += bb) {
        const uint8_t *s = g + b * gbb;
        memcpy(out, s + 2 * lane, 2);
        if (base == SMOL_Q4_1) memcpy(out + 2, s + 16 + 2 * lane, 2);
        for (int q = 0; q < 4; q++) memcpy(out + (base == SMOL_Q4_1 ? 4 : 2) + 4 * q, s + hb + 32 * q + 4 * lane, 4);
    }
}

typedef struct {
    smol_dtype base;
    const uint8_t *src;
    uint8_t *dst;
    size_t rows, cols, row_bytes;
    const int32_t *row_map;
    _Atomic size_t next;
} repack_ctx;

static void repack_task(void *p, int ith, int nth) {
    repack_ctx *c = p;
    (void)ith; (void)nth;
    const size_t bb = smol_dtype_block_bytes(c->base), nb = c->cols / 32, gbb = 8 * bb, hb = hdr_bytes(c->base);
    const size_t qs_at = c->base == SMOL_Q4_1 ? 4 : 2;  // qs in a plain block
    size_t g0, g1;
    while (smol_claim(&c->next, c->rows / 8, 4, &g0, &g1)) {
    if (c->base == SMOL_Q4_K) {
        smol_repack_r8k_rows(c->src, c->row_bytes, c->cols, c->row_map, g0, g1, c->dst);
        continue;
    }
    if (c->base == SMOL_Q6_K) {
        smol_repack_r8q6_rows(c->src, c->row_bytes, c->cols, c->row_map, g0, g1, c->dst);
        continue;
    }
    for (size_t g = g0; g < g1; g++) {
        uint8_t *dg = c->dst + g * nb * gbb;
        for (size_t lane = 0; lane < 8; lane++) {
            const size_t r = g * 8 + lane, sr = c->row_map ? (size_t)c->row_map[r] : r;
            const uint8_t *row = c->src + sr * c->row_bytes;
            for (size_t b = 0; b < nb; b++) {
                const uint8_t *s = row + b * bb;
                uint8_t *d = dg + b * gbb;
                memcpy(d + 2 * lane, s, 2);
                if (c->base == SMOL_Q4_1) memcpy(d + 16 + 2 * lane, s + 2, 2);
                for (int q = 0; q < 4; q++) memcpy(d + hb + 32 * q + 4 * lane, s + qs_at + 4 * q, 4);
            }
        }
    }
    }
}

int smol_repack_r8(smol_pool *pool, smol_dtype base, const void *src, size_t rows, size_t cols, const int32_t *row_map,
                   void *dst) {
    if ((base != SMOL_Q4_0 && base != SMOL_Q4_1 && base != SMOL_Q4_K && base != SMOL_Q6_K) || rows % 8 || rows == 0 ||
        cols % smol_dtype_block_size(base)) return -1;
    repack_ctx c = {base, src, dst, rows, cols, smol_dtype_row_bytes(base, cols), row_map, 0};
    if (pool) smol_pool_run(pool, repack_task, &c);
    else repack_task(&c, 0, 1);
    return 0;
}

// ---- decode: one group of 8 rows against a quantized activation row ---------------------------

void smol_r8q4_group_scalar(const uint8_t *g, const void *qxbuf, size_t cols, smol_dtype dt, float out[8]) {
    // Per row through the plain-layout reference arithmetic (matvec_quant.c), block by block.
    const smol_qx x = smol_qx_view(qxbuf, cols);
    const smol_dtype base = smol_dtype_r8_base(dt);
    const size_t bb = smol_dtype_block_bytes(base), nb = cols / 32;
    uint8_t blk[20];
    for (size_t lane = 0; lane < 8; lane++) {
        float acc = 0, macc = 0;
        for (size_t b = 0; b < nb; b++) {
            smol_r8_unpack_row(dt, g, cols, lane, b, 1, blk);
            const uint8_t *qs = blk + (base == SMOL_Q4_1 ? 4 : 2);
            int32_t isum = base == SMOL_Q4_0 ? -8 * x.s[b] : 0;
            for (int j = 0; j < 16; j++) isum += (qs[j] & 0xF) * x.q[b * 32 + j] + (qs[j] >> 4) * x.q[b * 32 + j + 16];
            acc += smol_f16_to_f32((uint16_t)(blk[0] | blk[1] << 8)) * x.d[b] * (float)isum;
            if (base == SMOL_Q4_1) macc += smol_f16_to_f32((uint16_t)(blk[2] | blk[3] << 8)) * x.ds[b];
        }
        out[lane] = acc + macc;
    }
    (void)bb;
}

void smol_matrix_row_f32(const void *W, smol_dtype dt, size_t cols, size_t r, float *dst) {
    if (smol_dtype_is_r8(dt)) smol_r8_dequantize_rows(dt, W, cols, r, r + 1, dst);
    else smol_convert_to_f32((const uint8_t *)W + r * smol_dtype_row_bytes(dt, cols), dt, dst, cols);
}

// f32 values of rows [r0, r1) (prefill through sgemm, and tests).
void smol_r8_dequantize_rows(smol_dtype dt, const void *W, size_t cols, size_t r0, size_t r1, float *dst) {
    if (dt == SMOL_Q4_K_R8) {
        for (size_t r = r0; r < r1; r++) smol_r8k_dequantize_row(W, cols, r, 0, cols, dst + (r - r0) * cols);
        return;
    }
    const smol_dtype base = smol_dtype_r8_base(dt);
    static _Thread_local void *buf = NULL;
    static _Thread_local size_t cap = 0;
    uint8_t *row = smol_grow(&buf, &cap, smol_dtype_row_bytes(base, cols));
    if (!row) return;
    for (size_t r = r0; r < r1; r++) {
        if (dt == SMOL_Q6_K_R8) smol_r8q6_unpack_row(W, cols, r, 0, cols / 256, row);
        else smol_r8_unpack_row(dt, W, cols, r, 0, cols / 32, row);
        smol_dequantize(smol_dtype_ggml(base), row, dst + (r - r0) * cols, cols);
    }
}
