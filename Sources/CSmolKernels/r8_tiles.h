// Template of the interleaved-block tile kernels, included by matvec_r8_tiles.c once per level
// with TILE_FN (the target attribute), TILE_NAME(x) (x with the level's suffix) and
// TILE_DOT(acc, u8, s8) (8 int32 sums of 4 byte products each, added to acc).
//
// A tile is one group of 8 weight rows against MR activation rows (MR = 1..4, a constant in each
// instantiation): the group's bytes are loaded and unpacked once for all MR rows, and each row's
// arithmetic is the single-row kernel's, instruction for instruction, so a row gets the same bits
// in a decode step, a batch of 4 or a 512-token prefill. out[m * ldo + lane] for row m, lane 0..7.

// Q4_0 / Q4_1 (group-block layout in matvec_r8.c).
TILE_FN __attribute__((always_inline)) static inline void TILE_NAME(q4_body)(const uint8_t *g, const uint8_t *qxb, size_t qs,
                                                                             size_t cols, float *out, size_t ldo,
                                                                             const int q41, const int MR) {
    smol_qx x[4];
    for (int m = 0; m < MR; m++) x[m] = smol_qx_view(qxb + (size_t)m * qs, cols);
    const size_t nb = cols / 32, gbb = q41 ? 160 : 144, hb = q41 ? 32 : 16;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc0[4], acc1[4], macc[4];
    for (int m = 0; m < MR; m++) acc0[m] = acc1[m] = macc[m] = _mm256_setzero_ps();
    for (size_t b = 0; b < nb; b++, g += gbb) {
        __m256i wl[4], wh[4];
        for (int q = 0; q < 4; q++) {
            const __m256i raw = _mm256_loadu_si256((const __m256i *)(g + hb + 32 * q));
            wl[q] = _mm256_and_si256(raw, m4);
            wh[q] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)g));
        const __m256 mw = q41 ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(g + 16))) : _mm256_setzero_ps();
        for (int m = 0; m < MR; m++) {
            const int8_t *xq = x[m].q + b * 32;
            __m256i lo = q41 ? _mm256_setzero_si256() : _mm256_set1_epi32(-8 * x[m].s[b]), hi = _mm256_setzero_si256();
            for (int q = 0; q < 4; q++) {
                lo = TILE_DOT(lo, wl[q], _mm256_set1_epi32(ld32(xq + 4 * q)));
                hi = TILE_DOT(hi, wh[q], _mm256_set1_epi32(ld32(xq + 16 + 4 * q)));
            }
            const __m256 s = _mm256_mul_ps(dw, _mm256_set1_ps(x[m].d[b]));
            const __m256 v = _mm256_cvtepi32_ps(_mm256_add_epi32(lo, hi));
            if (b % 2) acc1[m] = _mm256_fmadd_ps(v, s, acc1[m]);
            else acc0[m] = _mm256_fmadd_ps(v, s, acc0[m]);
            if (q41) macc[m] = _mm256_fmadd_ps(mw, _mm256_set1_ps(x[m].ds[b]), macc[m]);
        }
    }
    for (int m = 0; m < MR; m++) _mm256_storeu_ps(out + (size_t)m * ldo, _mm256_add_ps(_mm256_add_ps(acc0[m], acc1[m]), macc[m]));
}

TILE_FN static inline __m256 TILE_NAME(bytes8_ps)(const uint8_t *p, int sign) {
    const __m128i v = _mm_loadl_epi64((const __m128i *)p);
    return _mm256_cvtepi32_ps(sign ? _mm256_cvtepi8_epi32(v) : _mm256_cvtepu8_epi32(v));
}

// Q4_K (group-superblock layout in matvec_r8k.c): per 64 values (sub-blocks 2p, 2p + 1) the 8 rows'
// d * sc and dmin * m are formed once, then each activation row scales its two integer sums and
// subtracts its two min terms, all into one accumulator: acc += lo * s0; acc += hi * s1;
// acc -= dm0 * xds0; acc -= dm1 * xds1. The pair tiles (matvec_r8_tiles.c) do the same per lane.
TILE_FN __attribute__((always_inline)) static inline void TILE_NAME(q4k_body)(const uint8_t *g, const uint8_t *qxb, size_t qs,
                                                                              size_t cols, float *out, size_t ldo, const int MR) {
    const size_t nsb = cols / 256, nb = cols / 32, doff = (cols + 63) / 64 * 64, dsoff = doff + nb * 4;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc[TILE_MAX];
    for (int m = 0; m < MR; m++) acc[m] = _mm256_setzero_ps();
    for (size_t b = 0; b < nsb; b++, g += SMOL_R8K_GSB) {
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)g));
        const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(g + 16)));
        for (int p = 0; p < 4; p++) {
            const size_t xb = b * 8 + 2 * (size_t)p;
            const __m256 ds0 = _mm256_mul_ps(d, TILE_NAME(bytes8_ps)(g + SMOL_R8K_SC + 16 * p, 0));
            const __m256 ds1 = _mm256_mul_ps(d, TILE_NAME(bytes8_ps)(g + SMOL_R8K_SC + 16 * p + 8, 0));
            const __m256 dm0 = _mm256_mul_ps(dmin, TILE_NAME(bytes8_ps)(g + SMOL_R8K_M + 16 * p, 0));
            const __m256 dm1 = _mm256_mul_ps(dmin, TILE_NAME(bytes8_ps)(g + SMOL_R8K_M + 16 * p + 8, 0));
            __m256i lo[TILE_MAX], hi[TILE_MAX];
            for (int m = 0; m < MR; m++) lo[m] = hi[m] = _mm256_setzero_si256();
            const uint8_t *qsp = g + SMOL_R8K_QS + 256 * p, *xq = qxb + xb * 32;
            SMOL_UNROLL for (int q = 0; q < 8; q++) {
                const __m256i raw = _mm256_loadu_si256((const __m256i *)(qsp + 32 * q));
                const __m256i wl = _mm256_and_si256(raw, m4), wh = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
                for (int m = 0; m < MR; m++) {
                    const size_t mo = (size_t)m * qs;
                    lo[m] = TILE_DOT(lo[m], wl, _mm256_set1_epi32(ldi32(xq + mo + 4 * q)));
                    hi[m] = TILE_DOT(hi[m], wh, _mm256_set1_epi32(ldi32(xq + mo + 32 + 4 * q)));
                }
            }
            for (int m = 0; m < MR; m++) {
                const size_t mo = (size_t)m * qs;
                const __m256 s0 = _mm256_mul_ps(ds0, _mm256_set1_ps(ldf32(qxb + doff + 4 * xb + mo)));
                const __m256 s1 = _mm256_mul_ps(ds1, _mm256_set1_ps(ldf32(qxb + doff + 4 * xb + 4 + mo)));
                acc[m] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(lo[m]), s0, acc[m]);
                acc[m] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(hi[m]), s1, acc[m]);
                acc[m] = _mm256_fnmadd_ps(dm0, _mm256_set1_ps(ldf32(qxb + dsoff + 4 * xb + mo)), acc[m]);
                acc[m] = _mm256_fnmadd_ps(dm1, _mm256_set1_ps(ldf32(qxb + dsoff + 4 * xb + 4 + mo)), acc[m]);
            }
        }
    }
    for (int m = 0; m < MR; m++) _mm256_storeu_ps(out + (size_t)m * ldo, acc[m]);
}

// Q6_K (group-superblock layout in matvec_r8q6.c). Per half n of a super-block, the 16-value
// halves h = 0 (steps t < 4) and h = 1 (t >= 4) are summed in turn; within a half, value group
// k (x block xb0 + k) at a time: one integer sum per activation row over the half's 4 steps (the
// step's bytes are re-read from L1 and only group k is unpacked, so the unpacking is shared by
// all MR rows while each row holds one accumulator), scaled by its row's sc[8n + 2k + h] and
// folded into acc_h, for k = 0..3 in order.
TILE_FN __attribute__((always_inline)) static inline __m256i TILE_NAME(q6k_w)(const uint8_t *st, const int k) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3);
    const __m256i l = _mm256_loadu_si256((const __m256i *)(st + 32 * (k & 1)));
    const __m256i qh = _mm256_loadu_si256((const __m256i *)(st + 64));
    const __m256i lo4 = k < 2 ? _mm256_and_si256(l, m4) : _mm256_and_si256(_mm256_srli_epi16(l, 4), m4);
    const __m256i hi2 = k == 0 ? _mm256_and_si256(qh, m2) : _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), m2);
    return _mm256_or_si256(lo4, _mm256_slli_epi16(hi2, 4));
}

TILE_FN __attribute__((always_inline)) static inline void TILE_NAME(q6k_body)(const uint8_t *g, const uint8_t *qxb, size_t qs,
                                                                              size_t cols, float *out, size_t ldo, const int MR) {
    // Row m's quantized x is at qxb + m * qs (smol_qx_view's layout): addressed from one base and
    // the stride, so MR rows cost no registers of their own.
    const size_t nsb = cols / 256, nb = cols / 32, doff = (cols + 63) / 64 * 64, s16off = doff + nb * 12;
    __m256 acc[2][TILE_MAX_Q6];
    for (int m = 0; m < MR; m++) acc[0][m] = acc[1][m] = _mm256_setzero_ps();
    for (size_t b = 0; b < nsb; b++, g += SMOL_R8Q6_GSB) {
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(g + SMOL_R8Q6_D)));
        for (int n = 0; n < 2; n++) {
            const size_t xb0 = b * 8 + 4 * (size_t)n;  // x block of value group k: xb0 + k
            SMOL_UNROLL for (int h = 0; h < 2; h++) {
                SMOL_UNROLL for (int k = 0; k < 4; k++) {
                    const size_t xb = xb0 + (size_t)k;
                    const uint8_t *xq = qxb + xb * 32, *xd = qxb + doff + xb * 4, *xs = qxb + s16off + (2 * xb + (size_t)h) * 4;
                    __m256i a[TILE_MAX_Q6];
                    for (int m = 0; m < MR; m++) a[m] = _mm256_set1_epi32(-32 * ldi32(xs + (size_t)m * qs));
                    SMOL_UNROLL for (int t = 4 * h; t < 4 * h + 4; t++) {
                        const __m256i w = TILE_NAME(q6k_w)(g + (size_t)(n * 8 + t) * SMOL_R8Q6_STEP, k);
                        for (int m = 0; m < MR; m++)
                            a[m] = TILE_DOT(a[m], w, _mm256_set1_epi32(ldi32(xq + (size_t)m * qs + 4 * (size_t)t)));
                    }
                    const __m256 sc = TILE_NAME(bytes8_ps)(g + SMOL_R8Q6_SC + 8 * (8 * n + 2 * k + h), 1);
                    for (int m = 0; m < MR; m++) {
                        const __m256 s = _mm256_mul_ps(_mm256_mul_ps(d, _mm256_set1_ps(ldf32(xd + (size_t)m * qs))), sc);
                        acc[h][m] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a[m]), s, acc[h][m]);
                    }
                }
            }
        }
    }
    for (int m = 0; m < MR; m++) _mm256_storeu_ps(out + (size_t)m * ldo, _mm256_add_ps(acc[0][m], acc[1][m]));
}

// The entry points: mr rows (1..4; the level's TILE_MAX at most) of one group.
TILE_FN static void TILE_NAME(tile_q4)(const uint8_t *g, const uint8_t *qx, size_t qs, int mr, size_t cols, smol_dtype dt,
                                       float *out, size_t ldo) {
    const int q41 = dt == SMOL_Q4_1_R8;
#define TILE_Q4_CASE(M) \
    case M: q41 ? TILE_NAME(q4_body)(g, qx, qs, cols, out, ldo, 1, M) : TILE_NAME(q4_body)(g, qx, qs, cols, out, ldo, 0, M); break;
    switch (mr) {
    TILE_Q4_CASE(1)
#if TILE_MAX >= 2
    TILE_Q4_CASE(2)
#endif
#if TILE_MAX >= 3
    TILE_Q4_CASE(3)
#endif
#if TILE_MAX >= 4
    TILE_Q4_CASE(4)
#endif
    default: break;
    }
#undef TILE_Q4_CASE
}

TILE_FN static void TILE_NAME(tile_q4k)(const uint8_t *g, const uint8_t *qx, size_t qs, int mr, size_t cols, smol_dtype dt,
                                        float *out, size_t ldo) {
    (void)dt;
    switch (mr) {
    case 1: TILE_NAME(q4k_body)(g, qx, qs, cols, out, ldo, 1); break;
#if TILE_MAX >= 2
    case 2: TILE_NAME(q4k_body)(g, qx, qs, cols, out, ldo, 2); break;
#endif
#if TILE_MAX >= 3
    case 3: TILE_NAME(q4k_body)(g, qx, qs, cols, out, ldo, 3); break;
#endif
#if TILE_MAX >= 4
    case 4: TILE_NAME(q4k_body)(g, qx, qs, cols, out, ldo, 4); break;
#endif
    default: break;
    }
}

TILE_FN static void TILE_NAME(tile_q6k)(const uint8_t *g, const uint8_t *qx, size_t qs, int mr, size_t cols, smol_dtype dt,
                                        float *out, size_t ldo) {
    (void)dt;
#define TILE_Q6_CASE(M) \
    case M: TILE_NAME(q6k_body)(g, qx, qs, cols, out, ldo, M); break;
    switch (mr) {
    TILE_Q6_CASE(1)
#if TILE_MAX_Q6 >= 2
    TILE_Q6_CASE(2)
#endif
#if TILE_MAX_Q6 >= 3
    TILE_Q6_CASE(3)
#endif
#if TILE_MAX_Q6 >= 4
    TILE_Q6_CASE(4)
#endif
#if TILE_MAX_Q6 >= 6
    TILE_Q6_CASE(5)
    TILE_Q6_CASE(6)
#endif
#if TILE_MAX_Q6 >= 8
    TILE_Q6_CASE(7)
    TILE_Q6_CASE(8)
#endif
    default: break;
    }
#undef TILE_Q6_CASE
}
