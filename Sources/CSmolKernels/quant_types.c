// Storage types of the block kernels (sizes, GGUF ids) and the activation side of their dot
// products: a row of x quantized to 8-bit blocks of 32, once per call (see matvec_quant.c).
#include "smol_kernels.h"
#include "internal.h"

#include <math.h>

int smol_dtype_is_quant(smol_dtype dt) { return dt >= SMOL_Q8_0 && dt <= SMOL_Q6_K_R8; }

size_t smol_dtype_block_bytes(smol_dtype dt) {
    switch (dt) {
    case SMOL_Q8_0: return 34;
    case SMOL_Q4_0: case SMOL_Q4_0_R8: return 18;
    case SMOL_Q4_1: case SMOL_Q4_1_R8: return 20;
    case SMOL_Q4_K: return 144;
    case SMOL_Q4_K_R8: return 148;  // per row: 1184 bytes per 8 rows
    case SMOL_Q5_K: return 176;
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
void smol_quantize_x(const float *x, size_t cols, void *buf) {
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
