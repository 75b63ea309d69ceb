// Prefill GEMM on interleaved block weights (Q4_0_R8, Q4_1_R8, Q4_K_R8, Q6_K_R8):
// Y_j [n, rows_j] = X [n, cols] * W_j^T with X quantized to 8-bit blocks of 32 (smol_quantize_x,
// as decode does) and integer dot products (vpdpbusd on AVX512_VNNI, 4x the work of a bf16
// pair per instruction), f32 only for the per-block scales.
//
// Blocking: threads claim chunks of 8-row groups (about 128 KB of weights, which then stay in
// L2); for each chunk, the activation rows go by in tiles of MR (1..4) rows, each tile's bytes
// (MR x cols) staying in L1 while it meets every group of the chunk. Each tile is the decode
// kernel (matvec_r8_tiles.c) for MR rows, with the full depth of K summed in one pass, so the
// result of every row is bit-identical to decoding it alone.
#include "smol_kernels.h"
#include "internal.h"

#include <string.h>

enum { CHUNK_BYTES = 256 * 1024, MAX_JOBS = 16 };

typedef struct {
    const smol_matvec_job *jobs;
    int njobs, qpath;
    const uint8_t *qx;  // [n] rows of smol_qx_bytes(cols)
    size_t qx_stride, n, cols, chunk;
    size_t job_first_group[MAX_JOBS + 1];  // prefix sums of 8-row groups per job
    _Atomic size_t next;
} qgemm_ctx;

static void qgemm_task(void *p, int ith, int nth) {
    qgemm_ctx *c = p;
    (void)ith; (void)nth;
    size_t g0, g1;
    while (smol_claim(&c->next, c->job_first_group[c->njobs], c->chunk, &g0, &g1)) {
        for (int j = 0; j < c->njobs; j++) {
            const size_t jb = c->job_first_group[j], je = c->job_first_group[j + 1];
            if (je <= g0 || jb >= g1) continue;
            const smol_matvec_job *job = &c->jobs[j];
            int single_max, pr_max;
            const smol_r8_tile_fn tile = smol_r8_tile(job->dtype, c->qpath, &single_max);
            const smol_r8_tile_fn pair = smol_r8_pair_tile(job->dtype, c->qpath, &pr_max);
            const int mr_max = pair ? pr_max : single_max;
            const size_t gbytes = 8 * smol_dtype_row_bytes(job->dtype, c->cols);
            const size_t s = (g0 > jb ? g0 : jb) - jb, e = (g1 < je ? g1 : je) - jb;
            for (size_t t0 = 0; t0 < c->n; t0 += (size_t)mr_max) {
                const int mr = c->n - t0 < (size_t)mr_max ? (int)(c->n - t0) : mr_max;
                const uint8_t *qx = c->qx + t0 * c->qx_stride;
                float *y = job->y + t0 * job->rows;
                size_t g = s;
                if (pair)
                    for (; g + 2 <= e; g += 2)
                        pair((const uint8_t *)job->W + g * gbytes, qx, c->qx_stride, mr, c->cols, job->dtype, y + 8 * g, job->rows);
                for (; g < e; g++)  // a group left over: the single tile, in pieces of at most its rows
                    for (int m0 = 0; m0 < mr; m0 += single_max)
                        tile((const uint8_t *)job->W + g * gbytes, qx + (size_t)m0 * c->qx_stride, c->qx_stride,
                             mr - m0 < single_max ? mr - m0 : single_max, c->cols, job->dtype,
                             y + (size_t)m0 * job->rows + 8 * g, job->rows);
            }
        }
    }
}

typedef struct {
    const float *x;
    uint8_t *qx;
    size_t n, cols, stride;
    _Atomic size_t next;
} quantize_ctx;

static void quantize_task(void *p, int ith, int nth) {
    quantize_ctx *c = p;
    (void)ith; (void)nth;
    size_t r0, r1;
    while (smol_claim(&c->next, c->n, 16, &r0, &r1))
        for (size_t r = r0; r < r1; r++) smol_quantize_x(c->x + r * c->cols, c->cols, c->qx + r * c->stride);
}

int smol_gemm_q8_multi(smol_pool *pool, const smol_matvec_job *jobs, int njobs, const float *X, size_t n, size_t cols) {
    const int qpath = smol_quant_level();
    if (qpath == SMOL_QPATH_SCALAR || njobs < 1 || njobs > MAX_JOBS || n == 0) return 0;
    for (int j = 0; j < njobs; j++)
        if (!smol_dtype_is_r8(jobs[j].dtype) || jobs[j].rows % 8 || smol_dtype_row_bytes(jobs[j].dtype, cols) == 0) return 0;
    // X quantized: the calling thread's buffer, grown and kept (prefill allocates once).
    static _Thread_local void *qbuf = NULL;
    static _Thread_local size_t qcap = 0;
    const size_t stride = smol_qx_bytes(cols);
    uint8_t *qx = smol_grow(&qbuf, &qcap, n * stride);
    if (!qx) return 0;
    quantize_ctx qc = {X, qx, n, cols, stride, 0};
    smol_pool_run(pool, quantize_task, &qc);

    qgemm_ctx c;
    memset(&c, 0, sizeof c);
    c.jobs = jobs;
    c.njobs = njobs;
    c.qpath = qpath;
    c.qx = qx;
    c.qx_stride = stride;
    c.n = n;
    c.cols = cols;
    size_t groups = 0, bytes = 0;
    for (int j = 0; j < njobs; j++) {
        c.job_first_group[j] = groups;
        groups += jobs[j].rows / 8;
        bytes += jobs[j].rows * smol_dtype_row_bytes(jobs[j].dtype, cols);
    }
    c.job_first_group[njobs] = groups;
    // Chunks of about CHUNK_BYTES of weights, and at least 4 claims per thread.
    const size_t per_group = bytes / groups;
    size_t chunk = CHUNK_BYTES / per_group;
    const size_t fair = groups / ((size_t)smol_pool_size(pool) * 4);
    if (chunk > fair) chunk = fair;
    chunk += chunk % 2;  // whole pairs of groups for the pair tiles
    c.chunk = chunk < 2 ? 2 : chunk;
    smol_pool_run(pool, qgemm_task, &c);
    return 1;
}
