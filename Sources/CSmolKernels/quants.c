// Dequantization of GGUF block types to f32, bit-identical to gguf-py's
// gguf.quants.dequantize (numpy, float32 arithmetic in the same order). FP contraction is
// off: a fused multiply-add would round once where numpy rounds twice.
#include "smol_kernels.h"
#include "internal.h"
#include <math.h>
#include <string.h>

#pragma clang fp contract(off)
#pragma STDC FP_CONTRACT OFF

static inline float h2f(const uint8_t *p) { return smol_f16_to_f32((uint16_t)(p[0] | (p[1] << 8))); }

static void deq_q8_0(const uint8_t *b, float *y) {  // d f16, qs[32] int8
    const float d = h2f(b);
    for (int j = 0; j < 32; j++) y[j] = (float)(int8_t)b[2 + j] * d;
}

static void deq_q4_0(const uint8_t *b, float *y) {  // d, qs[16]: low nibbles then high
    const float d = h2f(b);
    const uint8_t *qs = b + 2;
    for (int j = 0; j < 16; j++) {
        y[j] = (float)((qs[j] & 0x0F) - 8) * d;
        y[j + 16] = (float)((qs[j] >> 4) - 8) * d;
    }
}

static void deq_q4_1(const uint8_t *b, float *y) {  // d, m, qs[16]
    const float d = h2f(b), m = h2f(b + 2);
    const uint8_t *qs = b + 4;
    for (int j = 0; j < 16; j++) {
        y[j] = (float)(qs[j] & 0x0F) * d + m;
        y[j + 16] = (float)(qs[j] >> 4) * d + m;
    }
}

static void deq_q5_0(const uint8_t *b, float *y) {  // d, qh (32 high bits), qs[16]
    const float d = h2f(b);
    uint32_t qh;
    memcpy(&qh, b + 2, 4);
    const uint8_t *qs = b + 6;
    for (int j = 0; j < 16; j++) {
        const int x0 = (int)((qs[j] & 0x0F) | (((qh >> j) << 4) & 0x10)) - 16;
        const int x1 = (int)((qs[j] >> 4) | ((qh >> (j + 12)) & 0x10)) - 16;
        y[j] = (float)x0 * d;
        y[j + 16] = (float)x1 * d;
    }
}

static void deq_q5_1(const uint8_t *b, float *y) {  // d, m, qh, qs[16]
    const float d = h2f(b), m = h2f(b + 2);
    uint32_t qh;
    memcpy(&qh, b + 4, 4);
    const uint8_t *qs = b + 8;
    for (int j = 0; j < 16; j++) {
        const int x0 = (int)((qs[j] & 0x0F) | (((qh >> j) << 4) & 0x10));
        const int x1 = (int)((qs[j] >> 4) | ((qh >> (j + 12)) & 0x10));
        y[j] = (float)x0 * d + m;
        y[j + 16] = (float)x1 * d + m;
    }
}

static const int8_t kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

static void deq_iq4_nl(const uint8_t *b, float *y) {  // d, qs[16]: indices into a fixed table
    const float d = h2f(b);
    const uint8_t *qs = b + 2;
    for (int j = 0; j < 16; j++) {
        y[j] = d * (float)kvalues_iq4nl[qs[j] & 0x0F];
        y[j + 16] = d * (float)kvalues_iq4nl[qs[j] >> 4];
    }
}

// K-quants pack eight 6-bit (scale, min) pairs into 12 bytes.
static inline void scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

static void deq_q4_K(const uint8_t *b, float *y) {  // d, dmin, scales[12], qs[128]
    const float d = h2f(b), dmin = h2f(b + 2);
    const uint8_t *scales = b + 4, *q = b + 16;
    for (int is = 0; is < 8; is += 2) {
        uint8_t sc, m;
        scale_min_k4(is, scales, &sc, &m);
        const float d1 = d * (float)sc, m1 = dmin * (float)m;
        scale_min_k4(is + 1, scales, &sc, &m);
        const float d2 = d * (float)sc, m2 = dmin * (float)m;
        for (int l = 0; l < 32; l++) y[l] = d1 * (float)(q[l] & 0xF) - m1;
        for (int l = 0; l < 32; l++) y[l + 32] = d2 * (float)(q[l] >> 4) - m2;
        q += 32;
        y += 64;
    }
}

static void deq_q5_K(const uint8_t *b, float *y) {  // d, dmin, scales[12], qh[32], qs[128]
    const float d = h2f(b), dmin = h2f(b + 2);
    const uint8_t *scales = b + 4, *qh = b + 16, *ql = b + 48;
    uint8_t u1 = 1, u2 = 2;
    for (int is = 0; is < 8; is += 2) {
        uint8_t sc, m;
        scale_min_k4(is, scales, &sc, &m);
        const float d1 = d * (float)sc, m1 = dmin * (float)m;
        scale_min_k4(is + 1, scales, &sc, &m);
        const float d2 = d * (float)sc, m2 = dmin * (float)m;
        for (int l = 0; l < 32; l++) y[l] = d1 * (float)((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
        for (int l = 0; l < 32; l++) y[l + 32] = d2 * (float)((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
        ql += 32;
        y += 64;
        u1 <<= 2;
        u2 <<= 2;
    }
}

static void deq_q6_K(const uint8_t *b, float *y) {  // ql[128], qh[64], scales[16] int8, d
    const float d = h2f(b + 208);
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    for (int n = 0; n < 256; n += 128) {
        for (int l = 0; l < 32; l++) {
            const int is = l / 16;
            const int q1 = (int)((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
            const int q2 = (int)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            const int q3 = (int)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            const int q4 = (int)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l] = d * (float)sc[is] * (float)q1;
            y[l + 32] = d * (float)sc[is + 2] * (float)q2;
            y[l + 64] = d * (float)sc[is + 4] * (float)q3;
            y[l + 96] = d * (float)sc[is + 6] * (float)q4;
        }
        y += 128;
        ql += 64;
        qh += 32;
        sc += 8;
    }
}

typedef void (*deq_fn)(const uint8_t *, float *);

int smol_quant_block(uint32_t type, int *block_size, int *block_bytes) {
    int bs = 32, bb;
    switch (type) {
    case SMOL_GGML_Q4_0: bb = 18; break;
    case SMOL_GGML_Q4_1: bb = 20; break;
    case SMOL_GGML_Q5_0: bb = 22; break;
    case SMOL_GGML_Q5_1: bb = 24; break;
    case SMOL_GGML_Q8_0: bb = 34; break;
    case SMOL_GGML_IQ4_NL: bb = 18; break;
    case SMOL_GGML_Q4_K: bs = 256; bb = 144; break;
    case SMOL_GGML_Q5_K: bs = 256; bb = 176; break;
    case SMOL_GGML_Q6_K: bs = 256; bb = 210; break;
    default: return 0;
    }
    *block_size = bs;
    *block_bytes = bb;
    return 1;
}

int smol_dequantize(uint32_t type, const void *src, float *dst, size_t n) {
    const uint8_t *s = (const uint8_t *)src;
    switch (type) {
    case SMOL_GGML_F32: memcpy(dst, src, n * 4); return 0;
    case SMOL_GGML_F16: smol_convert_to_f32(src, SMOL_F16, dst, n); return 0;
    case SMOL_GGML_BF16: smol_convert_to_f32(src, SMOL_BF16, dst, n); return 0;
    default: break;
    }
    int bs, bb;
    if (!smol_quant_block(type, &bs, &bb)) return -1;
    if (n % (size_t)bs != 0) return -2;
    deq_fn f;
    switch (type) {
    case SMOL_GGML_Q4_0: f = deq_q4_0; break;
    case SMOL_GGML_Q4_1: f = deq_q4_1; break;
    case SMOL_GGML_Q5_0: f = deq_q5_0; break;
    case SMOL_GGML_Q5_1: f = deq_q5_1; break;
    case SMOL_GGML_Q8_0: f = deq_q8_0; break;
    case SMOL_GGML_IQ4_NL: f = deq_iq4_nl; break;
    case SMOL_GGML_Q4_K: f = deq_q4_K; break;
    case SMOL_GGML_Q5_K: f = deq_q5_K; break;
    default: f = deq_q6_K; break;
    }
    for (size_t i = 0; i < n / (size_t)bs; i++) f(s + i * (size_t)bb, dst + i * (size_t)bs);
    return 0;
}

typedef struct {
    uint32_t type;
    const uint8_t *src;
    size_t row_bytes, cols;
    const int32_t *row_map;  // output row r reads source row row_map[r] (NULL: r)
    void *dst;
    smol_dtype out;
    size_t rows;
    float *scratch;  // nth * cols floats
    _Atomic size_t next;
} deq_rows_ctx;

static void deq_rows_task(void *arg, int ith, int nth) {
    deq_rows_ctx *c = (deq_rows_ctx *)arg;
    (void)nth;
    float *tmp = c->scratch + (size_t)ith * c->cols;
    const size_t esz = c->out == SMOL_F32 ? 4 : 2;
    size_t r0, r1;
    // Rows are claimed, not split by thread: a worker that joins late (or not) leaves no gap.
    while (smol_claim(&c->next, c->rows, 4, &r0, &r1))
    for (size_t r = r0; r < r1; r++) {
        const size_t sr = c->row_map ? (size_t)c->row_map[r] : r;
        smol_dequantize(c->type, c->src + sr * c->row_bytes, tmp, c->cols);
        smol_store_row(tmp, (uint8_t *)c->dst + r * c->cols * esz, c->out, c->cols);
    }
}

int smol_dequantize_rows(smol_pool *pool, uint32_t type, const void *src, size_t rows, size_t cols, size_t row_bytes,
                         const int32_t *row_map, void *dst, smol_dtype out, float *scratch) {
    deq_rows_ctx c = {type, (const uint8_t *)src, row_bytes, cols, row_map, dst, out, rows, scratch, 0};
    // Check the type once, on the caller's thread.
    if (type != SMOL_GGML_F32 && type != SMOL_GGML_F16 && type != SMOL_GGML_BF16) {
        int bs, bb;
        if (!smol_quant_block(type, &bs, &bb)) return -1;
        if (cols % (size_t)bs != 0 || row_bytes != cols / (size_t)bs * (size_t)bb) return -2;
    }
    if (pool) smol_pool_run(pool, deq_rows_task, &c);
    else deq_rows_task(&c, 0, 1);
    return 0;
}

// ---- quantization (ggml's reference quantizers, quantize_row_*_ref; as gguf.quants.quantize) --

static inline void put_f16(uint8_t *p, float v) {
    uint16_t h = smol_f32_to_f16(v);
    p[0] = (uint8_t)(h & 0xFF);
    p[1] = (uint8_t)(h >> 8);
}

// round half away from zero, as ggml's roundf and gguf-py's np_roundf
static inline float round_away(float v) { return v < 0 ? -floorf(-v + 0.5f) : floorf(v + 0.5f); }

static void q_q8_0(const float *x, uint8_t *b) {
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) { float a = fabsf(x[j]); if (a > amax) amax = a; }
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    put_f16(b, d);
    for (int j = 0; j < 32; j++) b[2 + j] = (uint8_t)(int8_t)round_away(x[j] * id);
}

static void q_q4_0(const float *x, uint8_t *b) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 32; j++) { float a = fabsf(x[j]); if (a > amax) { amax = a; max = x[j]; } }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    put_f16(b, d);
    for (int j = 0; j < 16; j++) {
        float v0 = x[j] * id + 8.5f, v1 = x[16 + j] * id + 8.5f;
        int q0 = (int)v0, q1 = (int)v1;  // truncation, as (int8_t) in ggml
        if (q0 > 15) q0 = 15;
        if (q1 > 15) q1 = 15;
        if (q0 < 0) q0 = 0;
        if (q1 < 0) q1 = 0;
        b[2 + j] = (uint8_t)(q0 | (q1 << 4));
    }
}

static void q_q4_1(const float *x, uint8_t *b) {
    float mn = x[0], mx = x[0];
    for (int j = 1; j < 32; j++) { if (x[j] < mn) mn = x[j]; if (x[j] > mx) mx = x[j]; }
    const float d = (mx - mn) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    put_f16(b, d);
    put_f16(b + 2, mn);
    for (int j = 0; j < 16; j++) {
        float v0 = (x[j] - mn) * id + 0.5f, v1 = (x[16 + j] - mn) * id + 0.5f;
        int q0 = (int)v0, q1 = (int)v1;
        if (q0 > 15) q0 = 15;
        if (q1 > 15) q1 = 15;
        if (q0 < 0) q0 = 0;
        if (q1 < 0) q1 = 0;
        b[4 + j] = (uint8_t)(q0 | (q1 << 4));
    }
}

// Q5_0: d = max / -16 (max: the value of largest magnitude), q = trunc(x / d + 16.5) capped at
// 31; low nibbles in qs as Q4_0, bit 4 of value j in bit j of qh.
static void q_q5_0(const float *x, uint8_t *b) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 32; j++) { float a = fabsf(x[j]); if (amax < a) { amax = a; max = x[j]; } }
    const float d = max / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    put_f16(b, d);
    uint32_t qh = 0;
    for (int j = 0; j < 16; j++) {
        int q0 = (int8_t)(x[j] * id + 16.5f), q1 = (int8_t)(x[16 + j] * id + 16.5f);  // (int8_t) truncates, as ggml
        if (q0 > 31) q0 = 31;
        if (q1 > 31) q1 = 31;
        b[6 + j] = (uint8_t)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
        qh |= ((uint32_t)(q0 & 0x10) >> 4) << j;
        qh |= ((uint32_t)(q1 & 0x10) >> 4) << (j + 16);
    }
    memcpy(b + 2, &qh, 4);
}

// Q5_1: d = (max - min) / 31, m = min, q = trunc((x - min) / d + 0.5).
static void q_q5_1(const float *x, uint8_t *b) {
    float mn = x[0], mx = x[0];
    for (int j = 1; j < 32; j++) { if (x[j] < mn) mn = x[j]; if (x[j] > mx) mx = x[j]; }
    const float d = (mx - mn) / 31.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    put_f16(b, d);
    put_f16(b + 2, mn);
    uint32_t qh = 0;
    for (int j = 0; j < 16; j++) {
        const uint8_t q0 = (uint8_t)((x[j] - mn) * id + 0.5f), q1 = (uint8_t)((x[16 + j] - mn) * id + 0.5f);
        b[8 + j] = (uint8_t)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
        qh |= ((uint32_t)(q0 & 0x10) >> 4) << j;
        qh |= ((uint32_t)(q1 & 0x10) >> 4) << (j + 16);
    }
    memcpy(b + 4, &qh, 4);
}

typedef void (*quant_fn)(const float *, uint8_t *);

static quant_fn quant_for(uint32_t type, size_t *bs, size_t *bb) {
    *bs = 32;
    switch (type) {
    case SMOL_GGML_Q8_0: *bb = 34; return q_q8_0;
    case SMOL_GGML_Q4_0: *bb = 18; return q_q4_0;
    case SMOL_GGML_Q4_1: *bb = 20; return q_q4_1;
    case SMOL_GGML_Q5_0: *bb = 22; return q_q5_0;
    case SMOL_GGML_Q5_1: *bb = 24; return q_q5_1;
    case SMOL_GGML_Q4_K: *bs = 256; *bb = 144; return smol_quantize_block_q4_K;
    case SMOL_GGML_Q5_K: *bs = 256; *bb = 176; return smol_quantize_block_q5_K;
    case SMOL_GGML_Q6_K: *bs = 256; *bb = 210; return smol_quantize_block_q6_K;
    default: return NULL;
    }
}

int smol_quantize(uint32_t type, const float *x, void *dst, size_t n) {
    uint8_t *d = (uint8_t *)dst;
    size_t bs, bb;
    const quant_fn f = quant_for(type, &bs, &bb);
    if (!f) return -1;
    if (n % bs != 0) return -2;
    for (size_t i = 0; i < n / bs; i++) f(x + i * bs, d + i * bb);
    return 0;
}

typedef struct {
    quant_fn f;
    const float *x;
    uint8_t *dst;
    size_t rows, cols, bs, bb;
    _Atomic size_t next;
} quant_rows_ctx;

static void quant_rows_task(void *arg, int ith, int nth) {
    quant_rows_ctx *c = (quant_rows_ctx *)arg;
    (void)ith; (void)nth;
    const size_t nb = c->cols / c->bs;
    size_t r0, r1;
    while (smol_claim(&c->next, c->rows, 4, &r0, &r1))
        for (size_t r = r0; r < r1; r++)
            for (size_t i = 0; i < nb; i++) c->f(c->x + r * c->cols + i * c->bs, c->dst + (r * nb + i) * c->bb);
}

int smol_quantize_rows(smol_pool *pool, uint32_t type, const float *x, size_t rows, size_t cols, void *dst) {
    quant_rows_ctx c = {0};
    c.f = quant_for(type, &c.bs, &c.bb);
    if (!c.f) return -1;
    if (cols % c.bs != 0) return -2;
    c.x = x;
    c.dst = (uint8_t *)dst;
    c.rows = rows;
    c.cols = cols;
    if (pool) smol_pool_run(pool, quant_rows_task, &c);
    else quant_rows_task(&c, 0, 1);
    return 0;
}
