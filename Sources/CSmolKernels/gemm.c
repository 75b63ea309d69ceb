// Prefill matrix products: Y [n, rows] = X [n, cols] * W^T with W in bf16/f16/f32.
// Each pool thread owns a slice of W's rows: it widens them to f32 in its own scratch and
// calls a single-threaded OpenBLAS sgemm. One threading system (ours) runs the whole
// prefill, so OpenBLAS's threads never spin against the pool's.
#include "smol_kernels.h"
#include "internal.h"

// From cblas.h (declared here so the C target needs no BLAS header path).
enum { SMOL_CBLAS_ROW_MAJOR = 101, SMOL_CBLAS_NO_TRANS = 111, SMOL_CBLAS_TRANS = 112 };
void cblas_sgemm(int order, int transA, int transB, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc);

typedef struct {
    const void *W;
    smol_dtype dt;
    const float *X;
    float *Y;
    size_t n, rows, cols;
    float *scratch;
    size_t scratch_per_thread;
    size_t chunk;  // rows per claim: a multiple of 16 that fits the scratch
    _Atomic size_t next;
} gemm_ctx;

static void gemm_task(void *p, int ith, int nth) {
    gemm_ctx *c = p;
    (void)nth;
    size_t row_bytes = smol_dtype_row_bytes(c->dt, c->cols);
    float *scratch = c->scratch + (size_t)ith * c->scratch_per_thread;
    size_t r0, r1;
    while (smol_claim(&c->next, c->rows, c->chunk, &r0, &r1)) {
        const float *w;
        if (c->dt == SMOL_F32) {
            w = (const float *)c->W + r0 * c->cols;
        } else {
            if (smol_dtype_is_r8(c->dt)) smol_r8_dequantize_rows(c->dt, c->W, c->cols, r0, r1, scratch);
            else smol_convert_to_f32((const char *)c->W + r0 * row_bytes, c->dt, scratch, (r1 - r0) * c->cols);
            w = scratch;
        }
        cblas_sgemm(SMOL_CBLAS_ROW_MAJOR, SMOL_CBLAS_NO_TRANS, SMOL_CBLAS_TRANS, (int)c->n, (int)(r1 - r0),
                    (int)c->cols, 1.0f, c->X, (int)c->cols, w, (int)c->cols, 0.0f, c->Y + r0, (int)c->rows);
    }
}

void smol_gemm(smol_pool *pool, const void *W, smol_dtype dt, const float *X, size_t n, size_t rows,
               size_t cols, float *Y, float *scratch, size_t scratch_per_thread) {
    int nth = smol_pool_size(pool);
    // About four claims per thread, in whole 16-row panels that fit one thread's scratch.
    size_t chunk = smol_chunk(rows, nth, 4, 16);
    size_t fit = scratch_per_thread / cols / 16 * 16;
    if (fit < 16) fit = scratch_per_thread / cols;
    if (fit < 1) fit = 1;
    if (chunk > fit) chunk = fit;
    gemm_ctx c = {W, dt, X, Y, n, rows, cols, scratch, scratch_per_thread, chunk, 0};
    smol_pool_run(pool, gemm_task, &c);
}
