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
} gemm_ctx;

static void gemm_task(void *p, int ith, int nth) {
    gemm_ctx *c = p;
    // Split rows in multiples of 16 so every thread's sgemm sees aligned, full panels.
    size_t blocks = (c->rows + 15) / 16, b0, b1;
    smol_split(blocks, ith, nth, &b0, &b1);
    size_t r0 = b0 * 16, r1 = b1 * 16 < c->rows ? b1 * 16 : c->rows;
    if (r0 >= r1) return;
    size_t esize = c->dt == SMOL_F32 ? 4 : 2;
    if (c->dt == SMOL_F32) {
        cblas_sgemm(SMOL_CBLAS_ROW_MAJOR, SMOL_CBLAS_NO_TRANS, SMOL_CBLAS_TRANS, (int)c->n, (int)(r1 - r0),
                    (int)c->cols, 1.0f, c->X, (int)c->cols, (const float *)c->W + r0 * c->cols, (int)c->cols,
                    0.0f, c->Y + r0, (int)c->rows);
        return;
    }
    float *scratch = c->scratch + (size_t)ith * c->scratch_per_thread;
    size_t block = c->scratch_per_thread / c->cols;
    if (block < 1) block = 1;
    for (size_t r = r0; r < r1; r += block) {
        size_t rb = r1 - r < block ? r1 - r : block;
        smol_convert_to_f32((const char *)c->W + r * c->cols * esize, c->dt, scratch, rb * c->cols);
        cblas_sgemm(SMOL_CBLAS_ROW_MAJOR, SMOL_CBLAS_NO_TRANS, SMOL_CBLAS_TRANS, (int)c->n, (int)rb, (int)c->cols,
                    1.0f, c->X, (int)c->cols, scratch, (int)c->cols, 0.0f, c->Y + r, (int)c->rows);
    }
}

void smol_gemm(smol_pool *pool, const void *W, smol_dtype dt, const float *X, size_t n, size_t rows,
               size_t cols, float *Y, float *scratch, size_t scratch_per_thread) {
    gemm_ctx c = {W, dt, X, Y, n, rows, cols, scratch, scratch_per_thread};
    smol_pool_run(pool, gemm_task, &c);
}
