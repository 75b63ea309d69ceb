// Shared internals of the C kernels (not part of the public header).
#ifndef SMOL_INTERNAL_H
#define SMOL_INTERNAL_H
#include <stddef.h>

static inline void smol_split(size_t total, int ith, int nth, size_t *begin, size_t *end) {
    size_t per = total / (size_t)nth, extra = total % (size_t)nth;
    size_t i = (size_t)ith;
    *begin = i * per + (i < extra ? i : extra);
    *end = *begin + per + (i < extra ? 1 : 0);
}

#include <stdatomic.h>

// Dynamic work sharing: threads claim [begin, end) chunks of `total` items from `next`
// until none are left, so a descheduled thread never holds up the others.
static inline int smol_claim(_Atomic size_t *next, size_t total, size_t chunk, size_t *begin, size_t *end) {
    size_t b = atomic_fetch_add_explicit(next, chunk, memory_order_relaxed);
    if (b >= total) return 0;
    *begin = b;
    *end = b + chunk < total ? b + chunk : total;
    return 1;
}

// Chunk size giving each of nth threads about `per_thread` claims.
static inline size_t smol_chunk(size_t total, int nth, size_t per_thread, size_t align) {
    size_t c = total / ((size_t)nth * per_thread);
    if (c < align) c = align;
    c = (c + align - 1) / align * align;
    return c;
}

#include "smol_kernels.h"

#include <stdlib.h>

// Grows a buffer owned by the calling thread (*buf, *cap bytes) to at least `bytes` and keeps it
// for later calls, so steady-state decode and prefill allocate nothing. NULL when out of memory.
static inline void *smol_grow(void **buf, size_t *cap, size_t bytes) {
    if (*cap < bytes) {
        void *grown = realloc(*buf, bytes);
        if (!grown) return NULL;
        *buf = grown;
        *cap = bytes;
    }
    return *buf;
}

float smol_dot_f32(const float *a, const float *b, size_t n);

// A quantized activation row (smol_quantize_x's buffer).
typedef struct {
    const int8_t *q;    // [cols]
    const float *d;     // [cols / 32] block scales
    const float *ds;    // [cols / 32] d * s
    const int32_t *s;   // [cols / 32] sum of the block's q
    const int32_t *s16; // [cols / 16] sum of q over each 16 values
} smol_qx;
smol_qx smol_qx_view(const void *buf, size_t cols);
size_t smol_dtype_block_bytes(smol_dtype dt);  // bytes per block of a block type; 0 otherwise
// Which integer dot product the block kernels use on the active level (smol_quant_path names it).
enum { SMOL_QPATH_SCALAR = 0, SMOL_QPATH_AVX2 = 1, SMOL_QPATH_VNNI = 2 };
int smol_quant_level(void);
#if defined(__x86_64__)
#include <immintrin.h>
// 8 int32 partial sums of 32 unsigned bytes times 32 signed ones, added to acc: vpmaddubsw +
// vpmaddwd on AVX2 (pair sums must stay below 2^15: the block kernels' operands do), and
// vpdpbusd on AVX512_VNNI (SMOL_DOT_VNNI, for functions compiled with avx512vnni,avx512vl).
__attribute__((target("avx2"))) static inline __m256i smol_dot_u8s8_avx2(__m256i acc, __m256i u, __m256i s) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
}
#define SMOL_DOT_VNNI(acc, u, s) _mm256_dpbusd_epi32(acc, u, s)
#endif
// Full unrolling of a short constant loop (register-resident accumulators indexed by it).
#if defined(__clang__)
#define SMOL_UNROLL _Pragma("unroll")
#else
#define SMOL_UNROLL _Pragma("GCC unroll 16")
#endif
// Interleaved layouts (matvec_r8*.c). Byte offsets inside a group-superblock of 8 rows:
enum {
    SMOL_R8K_GSB = 1184, SMOL_R8K_SC = 32, SMOL_R8K_M = 96, SMOL_R8K_QS = 160,      // Q4_K_R8
    SMOL_R8Q6_GSB = 1680, SMOL_R8Q6_STEP = 96, SMOL_R8Q6_D = 1536, SMOL_R8Q6_SC = 1552,  // Q6_K_R8
};
// The scalar reference of a group: the 8 rows of group `g` (its first byte) against one row.
void smol_r8q4_group_scalar(const uint8_t *g, const void *qx, size_t cols, smol_dtype dt, float out[8]);  // Q4_0/Q4_1
void smol_r8k_group_scalar(const uint8_t *g, const void *qx, size_t cols, smol_dtype dt, float out[8]);
void smol_r8q6_group_scalar(const uint8_t *g, const void *qx, size_t cols, smol_dtype dt, float out[8]);
// A tile (matvec_r8_tiles.c): one group of 8 rows against mr activation rows quantized by
// smol_quantize_x (qx_stride bytes apart); out[m * ldo + lane]. Each row gets the bits it gets alone.
typedef void (*smol_r8_tile_fn)(const uint8_t *g, const uint8_t *qx, size_t qx_stride, int mr, size_t cols, smol_dtype dt,
                                float *out, size_t ldo);
smol_r8_tile_fn smol_r8_tile(smol_dtype dt, int qpath, int *max_rows);
// The same for two adjacent groups (16 rows, out lanes 0..15), bit-identical per row to
// smol_r8_tile's; NULL where the level has none (below AVX512_VNNI).
smol_r8_tile_fn smol_r8_pair_tile(smol_dtype dt, int qpath, int *max_rows);
// Interleaved Q4 (matvec_r8.c): the plain layout's type, rows of plain blocks, f32 rows.
smol_dtype smol_dtype_r8_base(smol_dtype dt);
void smol_r8_unpack_row(smol_dtype dt, const void *W, size_t cols, size_t r, size_t b0, size_t nb, uint8_t *out);
// y[t * ldy + r] for the n rows t of qx and r in [r0, r1) (ranges may start or end inside a group).
void smol_matvec_r8_rows(const void *W, smol_dtype dt, const uint8_t *qx, size_t qx_stride, size_t n, float *y, size_t ldy,
                         size_t r0, size_t r1, size_t cols);
void smol_r8_dequantize_rows(smol_dtype dt, const void *W, size_t cols, size_t r0, size_t r1, float *dst);
static inline int smol_dtype_is_r8(smol_dtype dt) { return dt >= SMOL_Q4_0_R8 && dt <= SMOL_Q6_K_R8; }
// Q6_K interleaved (matvec_r8q6.c): repack groups [g0, g1), plain blocks of one row, decode.
void smol_repack_r8q6_rows(const uint8_t *src, size_t row_bytes, size_t cols, const int32_t *row_map, size_t g0, size_t g1,
                           uint8_t *dst);
void smol_r8q6_unpack_row(const void *W, size_t cols, size_t r, size_t b0, size_t nb, uint8_t *out);
// Q4_K interleaved (matvec_r8k.c): repack groups [g0, g1), one row's f32 values, decode.
void smol_repack_r8k_rows(const uint8_t *src, size_t row_bytes, size_t cols, const int32_t *row_map, size_t g0, size_t g1,
                          uint8_t *dst);
void smol_r8k_dequantize_row(const void *W, size_t cols, size_t r, size_t k0, size_t n, float *out);
// y[r] for r in [r0, r1) from block-type W and a row quantized by smol_quantize_x.
void smol_matvec_quant_rows(const void *W, smol_dtype dt, const void *qx, float *y, size_t r0, size_t r1, size_t cols);
void smol_axpy_f32(float a, const float *x, float *y, size_t n);  // y += a*x
// One super-block of 256 values to a Q4_K / Q5_K / Q6_K block (quantize_k.c, ggml's reference).
void smol_quantize_block_q4_K(const float *x, uint8_t *b);
void smol_quantize_block_q5_K(const float *x, uint8_t *b);
void smol_quantize_block_q6_K(const float *x, uint8_t *b);

// AVX-512 paths (matvec_avx512.c), called only when smol_isa_active() >= SMOL_ISA_AVX512.
void smol_matvec_bf16_avx512(const uint16_t *W, const float *xe, const float *xo, float *y, size_t r0, size_t r1,
                             size_t cols);  // cols even; xe/xo: x de-interleaved
void smol_matvec_avx512(const void *W, smol_dtype dt, const float *x, float *y, size_t r0, size_t r1, size_t cols);
void smol_convert_avx512(const void *src, smol_dtype dt, float *dst, size_t n);
float smol_dot_avx512(const float *a, const float *b, size_t n);
void smol_axpy_avx512(float a, const float *x, float *y, size_t n);
// xb = bf16(x), nearest even (vcvtneps2bf16); only when smol_isa_active() >= SMOL_ISA_AVX512_BF16.
void smol_round_bf16_avx512(const float *x, uint16_t *xb, size_t n);

#if defined(__x86_64__)
#include <immintrin.h>
// exp(x) for 16 floats: Cephes' expf (range reduction by ln 2 in two parts, degree-5
// polynomial, as exp8 in vision.c), about 1 ulp; inputs clamped to the finite range.
__attribute__((target("avx512f,fma"))) static inline __m512 smol_exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.3f));
    __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), x);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, x, _mm512_set1_ps(5.0000001201e-1f));
    __m512 y = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(x, x), x), _mm512_set1_ps(1.0f));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(fx), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(y, _mm512_castsi512_ps(e));
}
#endif
#endif
