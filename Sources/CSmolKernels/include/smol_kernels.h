// C kernels for SmolRuntime. Hot loops live here so they run at full speed in any build
// configuration and can pick an instruction set at run time (AVX2+FMA+F16C, or scalar).
#ifndef SMOL_KERNELS_H
#define SMOL_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Storage format of a weight matrix: a float type, or GGUF blocks (ggml's Q8_0, Q4_0, Q4_1, Q5_0,
// Q5_1 of 32 values; Q4_K, Q5_K, Q6_K of 256), each row a whole number of blocks. KV caches and
// activations use only F32 and BF16.
typedef enum {
    SMOL_F32 = 0, SMOL_F16 = 1, SMOL_BF16 = 2, SMOL_Q8_0 = 3, SMOL_Q4_0 = 4, SMOL_Q4_1 = 5,
    SMOL_Q4_K = 6, SMOL_Q5_K = 7, SMOL_Q6_K = 8,
    // Q4_0 / Q4_1 with rows interleaved by 8 for decode (matvec_r8.c; rows a multiple of 8,
    // the same bytes as the plain matrix). Made by smol_repack_r8; read by the matrix kernels
    // (not by smol_convert_to_f32, which fills NaN for them).
    SMOL_Q4_0_R8 = 9, SMOL_Q4_1_R8 = 10,
    // Q4_K interleaved by 8 rows with its 6-bit scales unpacked to bytes (matvec_r8k.c; 2.8% larger).
    SMOL_Q4_K_R8 = 11,
    // Q6_K interleaved by 8 rows (matvec_r8q6.c; the same bytes).
    SMOL_Q6_K_R8 = 12,
    // Q5_0 / Q5_1 blocks of 32 (what llama-quantize's K mixes fall back to for rows that are not
    // whole 256-value blocks), decoded in place.
    SMOL_Q5_0 = 13, SMOL_Q5_1 = 14,
} smol_dtype;
int smol_dtype_is_quant(smol_dtype dt);
size_t smol_dtype_block_size(smol_dtype dt);  // values per block: 1, 32 or 256
// Bytes of one row of `cols` values; 0 for a block type when cols is not a whole number of blocks.
size_t smol_dtype_row_bytes(smol_dtype dt, size_t cols);
uint32_t smol_dtype_ggml(smol_dtype dt);  // the GGUF tensor type id (of the plain layout)

// ---- CPU features and instruction-set selection -------------------------------------
// Feature bits, each counted only when the OS saves the state it needs (xgetbv; AMX tile
// data also needs arch_prctl permission on Linux, which detection requests).
enum {
    SMOL_FEAT_AVX2 = 1 << 0,         // AVX2 + FMA + F16C
    SMOL_FEAT_AVX512 = 1 << 1,       // AVX-512 F, DQ, BW, VL
    SMOL_FEAT_AVX512_BF16 = 1 << 2,  // vdpbf16ps, vcvtne2ps2bf16
    SMOL_FEAT_AVX512_VNNI = 1 << 3,  // vpdpbusd on zmm
    SMOL_FEAT_AVX_VNNI = 1 << 4,     // vpdpbusd on ymm (VEX)
    SMOL_FEAT_AMX_BF16 = 1 << 5,     // AMX tiles with bf16 dot products
    SMOL_FEAT_AMX_INT8 = 1 << 6,
};
unsigned smol_cpu_features(void);
// Kernel levels, each including the ones below. SMOL_ISA=<key> in the environment caps the level.
enum { SMOL_ISA_SCALAR = 0, SMOL_ISA_AVX2 = 1, SMOL_ISA_AVX512 = 2, SMOL_ISA_AVX512_BF16 = 3, SMOL_ISA_AMX = 4 };
int smol_isa_best(void);          // best level this CPU supports
int smol_isa_active(void);        // level in use (SMOL_ISA applied on first use)
void smol_isa_set(int level);     // clamp to what the CPU supports (tests walk every level)
const char *smol_isa_name(int level);  // "avx2+fma+f16c", ...
const char *smol_isa_key(int level);   // "scalar", "avx2", "avx512", "avx512bf16", "amx"
int smol_isa_parse(const char *key);   // level for a key (case-insensitive), -1 if unknown
void smol_flush_denormals(void);  // FTZ/DAZ for the calling thread
int smol_cpu_has_avx512(void);    // AVX-512F: OpenBLAS should use its SkylakeX kernels

// ---- Thread pool ---------------------------------------------------------------------
// The calling thread takes part as thread 0. Workers spin briefly, then sleep, so they do
// not steal cycles from OpenBLAS threads during prefill.
typedef struct smol_pool smol_pool;
typedef void (*smol_task_fn)(void *ctx, int ith, int nth);
smol_pool *smol_pool_create(int nthreads);
void smol_pool_destroy(smol_pool *pool);
int smol_pool_size(const smol_pool *pool);
void smol_pool_run(smol_pool *pool, smol_task_fn fn, void *ctx);

// ---- Conversions ---------------------------------------------------------------------
float smol_bf16_to_f32(uint16_t v);
uint16_t smol_f32_to_bf16(float v);  // round to nearest even, NaN kept
float smol_f16_to_f32(uint16_t v);
uint16_t smol_f32_to_f16(float v);
void smol_convert_to_f32(const void *src, smol_dtype dt, float *dst, size_t n);
// dst (f32, or bf16 rounded to nearest even) = src, n values.
void smol_store_row(const float *src, void *dst, smol_dtype dt, size_t n);

// ---- GGUF block types ------------------------------------------------------------------
// ggml type ids (GGUF tensor types) of the formats implemented here.
enum {
    SMOL_GGML_F32 = 0, SMOL_GGML_F16 = 1, SMOL_GGML_Q4_0 = 2, SMOL_GGML_Q4_1 = 3, SMOL_GGML_Q5_0 = 6,
    SMOL_GGML_Q5_1 = 7, SMOL_GGML_Q8_0 = 8, SMOL_GGML_Q4_K = 12, SMOL_GGML_Q5_K = 13, SMOL_GGML_Q6_K = 14,
    SMOL_GGML_IQ4_NL = 20, SMOL_GGML_BF16 = 30,
};
// dst = the Q4_0/Q4_1/Q4_K/Q6_K matrix src [rows, cols] (rows % 8 == 0) interleaved by 8 rows, in
// rows * smol_dtype_row_bytes(<the _R8 type>, cols) bytes (all but Q4_K: the size of src); output
// row r is source row row_map[r] (NULL: r). 0, or -1 for another type or shape.
int smol_repack_r8(smol_pool *pool, smol_dtype base, const void *src, size_t rows, size_t cols, const int32_t *row_map,
                   void *dst);
// Elements and bytes per block of a quantized type; 0 if the type is not implemented.
int smol_quant_block(uint32_t type, int *block_size, int *block_bytes);
// dst = dequantized n values of src (bit-identical to gguf.quants.dequantize). 0 on success,
// -1 for a type not implemented, -2 when n is not a whole number of blocks.
int smol_dequantize(uint32_t type, const void *src, float *dst, size_t n);
// dst = n values of x quantized to Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 (as gguf.quants.quantize), Q4_K,
// Q5_K or Q6_K blocks: ggml's reference quantizers (quantize_row_*_ref, which llama-quantize
// uses without an importance matrix). 0 on success, -1 for another type, -2 when n is not a
// whole number of blocks.
int smol_quantize(uint32_t type, const float *x, void *dst, size_t n);
// The same for a matrix x [rows, cols] (cols a whole number of blocks), rows in parallel.
int smol_quantize_rows(smol_pool *pool, uint32_t type, const float *x, size_t rows, size_t cols, void *dst);
// dst[cols] = row r of W [rows, cols] in f32, any layout (the embedding lookup).
void smol_matrix_row_f32(const void *W, smol_dtype dt, size_t cols, size_t r, float *dst);
// Rows of a GGUF matrix [rows, cols] (row_bytes each) to f32 or bf16 (rounded to nearest even)
// in parallel; output row r is source row row_map[r] (NULL: r). scratch: pool size * cols floats.
int smol_dequantize_rows(smol_pool *pool, uint32_t type, const void *src, size_t rows, size_t cols, size_t row_bytes,
                         const int32_t *row_map, void *dst, smol_dtype out, float *scratch);

// ---- Matrix-vector (decode) ----------------------------------------------------------
// Block-type weights (Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K) meet x quantized to 8-bit blocks of 32 (per block
// d = amax / 127, q = round(x / d), as llama.cpp's q8_0/q8_1) in integer dot products, on
// every kernel below (matvec_range, matvec_multi, matmul_multi) and on every level:
// AVX512_VNNI (vpdpbusd), AVX2 (vpmaddubsw), scalar. smol_quant_path() names the one in use.
const char *smol_quant_path(void);
// The quantized form of one activation row, as the kernels use it (exposed for tests):
// int8 q[cols], then f32 d[cols/32], f32 d*sum(q)[cols/32], int32 sum(q)[cols/32], int32
// sum(q) per 16 values [cols/16], in smol_qx_bytes(cols) bytes. cols must be a multiple of 32.
size_t smol_qx_bytes(size_t cols);
void smol_quantize_x(const float *x, size_t cols, void *buf);

// y[r] = sum_k W[r, k] * x[k] for r in [r0, r1); W row-major [rows, cols] in dtype dt.
void smol_matvec_range(const void *W, smol_dtype dt, const float *x, float *y,
                       size_t r0, size_t r1, size_t cols);

// Several independent matrix-vector products sharing the same input, run as one parallel
// job (q/k/v, or gate/up), so threads synchronise once per group.
typedef struct {
    const void *W;
    smol_dtype dtype;
    float *y;
    size_t rows;
} smol_matvec_job;
void smol_matvec_multi(smol_pool *pool, const smol_matvec_job *jobs, int njobs,
                       const float *x, size_t cols);

// Decode with bf16 dot products (AVX512_BF16): X [n, cols] (n = 1..4) rounded to bf16, f32
// accumulation, the arithmetic of the bf16 GEMM; Y_j [n, rows_j]. Each row of X gets the same
// result alone or in a batch. Returns 0, touching nothing, below SMOL_ISA_AVX512_BF16, for n
// outside 1...4, or when a weight is not bf16.
int smol_matvec_multi_dpbf16(smol_pool *pool, const smol_matvec_job *jobs, int njobs, const float *x, size_t n,
                             size_t cols);

// Same, for a batch of n input rows X [n, cols] -> Y_j [n, rows_j]; used for short batches
// where the weight is read once per batch rather than once per row.
void smol_matmul_multi(smol_pool *pool, const smol_matvec_job *jobs, int njobs,
                       const float *X, size_t n, size_t cols);

// Y [n, rows] = X [n, cols] * W^T through OpenBLAS sgemm, W widened (or dequantized) to f32 per thread in
// `scratch` (nthreads * scratch_per_thread floats; scratch_per_thread >= cols).
// OpenBLAS must be set to one thread: the pool provides the parallelism.
void smol_gemm(smol_pool *pool, const void *W, smol_dtype dt, const float *X, size_t n, size_t rows,
               size_t cols, float *Y, float *scratch, size_t scratch_per_thread);

// Y_j [n, rows_j] = bf16(X) [n, cols] * W_j^T for bf16 weights W_j sharing the input X, with
// X rounded to bf16 (nearest even) and f32 accumulation (vdpbf16ps): transformers' bf16
// arithmetic. Block-type weights (Q8_0, Q4_0, Q4_1, K-quants) are dequantized to bf16 (nearest even)
// panel by panel as they are packed, never as a whole matrix. Returns 1 when done; 0, touching
// nothing, when the active level is below SMOL_ISA_AVX512_BF16, a weight is f32 or f16, or
// njobs is outside 1...16.
int smol_gemm_bf16_multi(smol_pool *pool, const smol_matvec_job *jobs, int njobs, const float *X, size_t n,
                         size_t cols);

// Y_j [n, rows_j] = X [n, cols] * W_j^T for interleaved block weights (Q4_0_R8, Q4_1_R8, Q4_K_R8,
// Q6_K_R8): X quantized to 8-bit blocks as decode quantizes it, integer dot products (vpdpbusd,
// or vpmaddubsw on AVX2), each output row bit-identical to a decode of that row alone. Returns 1
// when done; 0, touching nothing, on the scalar level, when a weight is not interleaved, or when
// njobs is outside 1...16.
int smol_gemm_q8_multi(smol_pool *pool, const smol_matvec_job *jobs, int njobs, const float *X, size_t n, size_t cols);

// Parallel conversion of a rows block of W to f32.
void smol_convert_rows_parallel(smol_pool *pool, const void *W, smol_dtype dt, float *dst,
                                size_t rows, size_t cols);

// ---- Elementwise and normalisation ---------------------------------------------------
// y = x / sqrt(mean(x^2) + eps) * w, over n rows of length dim. w is f32.
void smol_rmsnorm(smol_pool *pool, const float *x, const float *w, float *y,
                  size_t n, size_t dim, float eps);
// gate[i] = silu(gate[i]) * up[i]
void smol_silu_mul(smol_pool *pool, float *gate, const float *up, size_t n);
// x[i] += y[i]
void smol_add_inplace(float *x, const float *y, size_t n);

// ---- Rotary embeddings ---------------------------------------------------------------
// HF layout (rotate_half): pairs (i, i + d/2). x: [n, heads, head_dim]; cos/sin: [n, head_dim/2]
void smol_rope(float *x, size_t n, size_t heads, size_t head_dim,
               const float *cos_t, const float *sin_t);

// ---- Attention -----------------------------------------------------------------------
// Causal attention with grouped KV heads over a cache whose K/V are f32 or bf16 (kv_dt).
// q:   [nq, n_heads, head_dim]  queries at positions pos0 .. pos0+nq-1
// kc,vc: [n_kv, cache_stride, head_dim] for one layer (positions 0 .. pos0+nq-1 filled)
// out: [nq, n_heads, head_dim]
// scratch: nthreads * (pos0 + nq) floats
void smol_attention(smol_pool *pool, const float *q, const void *kc, const void *vc, smol_dtype kv_dt, float *out,
                    size_t nq, size_t pos0, size_t n_heads, size_t n_kv, size_t head_dim,
                    size_t cache_stride, float scale, float *scratch);

// Prefill variant for many queries: flash-style on AVX-512 (smol_attention_flash), else per
// (head, block of 64 queries) through sgemm.
// scratch: nthreads * scratch_per_thread floats, scratch_per_thread >= smol_attention_prefill_scratch(nq, pos0).
size_t smol_attention_prefill_scratch(size_t nq, size_t pos0);
void smol_attention_prefill(smol_pool *pool, const float *q, const void *kc, const void *vc, smol_dtype kv_dt,
                            float *out, size_t nq, size_t pos0, size_t n_heads, size_t n_kv, size_t head_dim,
                            size_t cache_stride, float scale, float *scratch, size_t scratch_per_thread);

// Flash-style prefill attention (AVX-512): 64-key blocks with an online softmax, each K/V block
// read once per GQA group, f32 arithmetic, K/V read as stored. Returns 0 (nothing done) when
// the level is below AVX-512 or the shape is unsupported (head_dim > 256, group > 64).
int smol_attention_flash(smol_pool *pool, const float *q, const void *kc, const void *vc, smol_dtype kv_dt,
                         float *out, size_t nq, size_t pos0, size_t n_heads, size_t n_kv, size_t head_dim,
                         size_t cache_stride, float scale);

// The same with bf16 dot products (AVX512_BF16, bf16 cache, even head_dim): q and the softmax
// numerators rounded to bf16, f32 accumulation, half the instructions (attention_flash_bf16.c).
// Returns 0 when the CPU, cache type or shape does not allow it. Not called by the model yet: a
// token's attention must not depend on prefill vs decode (decode attention is f32).
int smol_attention_flash_bf16(smol_pool *pool, const float *q, const void *kc, const void *vc, smol_dtype kv_dt,
                              float *out, size_t nq, size_t pos0, size_t n_heads, size_t n_kv, size_t head_dim,
                              size_t cache_stride, float scale);

// ---- Vision encoder (SigLIP) -----------------------------------------------------------
// y = (x - mean) / sqrt(var + eps) * w + b over n rows of length dim.
void smol_layernorm(smol_pool *pool, const float *x, const float *w, const float *b, float *y, size_t n,
                    size_t dim, float eps);
// x = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), PyTorch's gelu(approximate="tanh").
void smol_gelu_tanh(smol_pool *pool, float *x, size_t n);
// x[r, :] += b for n rows of length dim.
void smol_add_bias(float *x, const float *b, size_t n, size_t dim);
// Bidirectional attention within each of `batch` sequences of `seq` positions.
// q, k, v, out: [batch, seq, heads * head_dim]; key_mask: [batch, seq], 0 = a padded position no
// query attends to (NULL: none); scratch: nthreads * seq * seq floats.
void smol_attention_full(smol_pool *pool, const float *q, const float *k, const float *v, float *out, size_t batch,
                         size_t seq, size_t heads, size_t head_dim, float scale, const uint8_t *key_mask, float *scratch);

// ---- Small helpers -------------------------------------------------------------------
// Index of the largest value (first on ties); -1 if a NaN or Inf is present.
long smol_argmax_checked(const float *x, size_t n);
// 1 if every value is finite.
int smol_all_finite(const float *x, size_t n);

// ---- Images ------------------------------------------------------------------------------------
// Resizes interleaved 8-bit pixels (1-4 channels) with Lanczos (a = 3), bit-identical to
// Pillow's Image.resize(LANCZOS) on 8-bit images. Returns 0, or -1 for bad sizes or no memory.
int smol_resize_lanczos_u8(const uint8_t *src, size_t w, size_t h, size_t channels, uint8_t *dst,
                           size_t ow, size_t oh);

#ifdef __cplusplus
}
#endif
#endif
