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
// d * sc and dmin * m are formed once, then each activation row scales its two integer sums.
TILE_FN __attribute__((always_inline)) static inline void TILE_NAME(q4k_body)(const uint8_t *g, const uint8_t *qxb, size_t qs,
                                                                              size_t cols, float *out, size_t ldo, const int MR) {
    smol_qx x[4];
    for (int m = 0; m < MR; m++) x[m] = smol_qx_view(qxb + (size_t)m * qs, cols);
    const size_t nsb = cols / 256;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc0[4], acc1[4], macc[4];
    for (int m = 0; m < MR; m++) acc0[m] = acc1[m] = macc[m] = _mm256_setzero_ps();
    for (size_t b = 0; b < nsb; b++, g += SMOL_R8K_GSB) {
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)g));
        const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(g + 16)));
        for (int p = 0; p < 4; p++) {
            const size_t xb = b * 8 + 2 * (size_t)p;
            const __m256 ds0 = _mm256_mul_ps(d, TILE_NAME(bytes8_ps)(g + SMOL_R8K_SC + 16 * p, 0));
            const __m256 ds1 = _mm256_mul_ps(d, TILE_NAME(bytes8_ps)(g + SMOL_R8K_SC + 16 * p + 8, 0));
            const __m256 dm0 = _mm256_mul_ps(dmin, TILE_NAME(bytes8_ps)(g + SMOL_R8K_M + 16 * p, 0));
            const __m256 dm1 = _mm256_mul_ps(dmin, TILE_NAME(bytes8_ps)(g + SMOL_R8K_M + 16 * p + 8, 0));
            __m256i lo[4], hi[4];
            for (int m = 0; m < MR; m++) lo[m] = hi[m] = _mm256_setzero_si256();
            const uint8_t *qsp = g + SMOL_R8K_QS + 256 * p;
            for (int q = 0; q < 8; q++) {
                const __m256i raw = _mm256_loadu_si256((const __m256i *)(qsp + 32 * q));
                const __m256i wl = _mm256_and_si256(raw, m4), wh = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
                for (int m = 0; m < MR; m++) {
                    const int8_t *xq = x[m].q + xb * 32;
                    lo[m] = TILE_DOT(lo[m], wl, _mm256_set1_epi32(ld32(xq + 4 * q)));
                    hi[m] = TILE_DOT(hi[m], wh, _mm256_set1_epi32(ld32(xq + 32 + 4 * q)));
                }
            }
            for (int m = 0; m < MR; m++) {
                const __m256 s0 = _mm256_mul_ps(ds0, _mm256_set1_ps(x[m].d[xb]));
                const __m256 s1 = _mm256_mul_ps(ds1, _mm256_set1_ps(x[m].d[xb + 1]));
                acc0[m] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(lo[m]), s0, acc0[m]);
                acc1[m] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(hi[m]), s1, acc1[m]);
                macc[m] = _mm256_fmadd_ps(dm0, _mm256_set1_ps(x[m].ds[xb]), macc[m]);
                macc[m] = _mm256_fmadd_ps(dm1, _mm256_set1_ps(x[m].ds[xb + 1]), macc[m]);
            }
        }
    }
    for (int m = 0; m < MR; m++) _mm256_storeu_ps(out + (size_t)m * ldo, _mm256_sub_ps(_mm256_add_ps(acc0[m], acc1[m]), macc[m]));
}

// Q6_K (group-superblock layout in matvec_r8q6.c). Per half n of a super-block, the 16-value
// halves h = 0 (steps t < 4) and h = 1 (t >= 4) are summed in turn: 4 integer sums (value groups
// k) per activation row, each scaled by its row's sc[8n + 2k + h] and folded into acc_h.
TILE_FN __attribute__((always_inline)) static inline void TILE_NAME(q6k_body)(const uint8_t *g, const uint8_t *qxb, size_t qs,
                                                                              size_t cols, float *out, size_t ldo, const int MR) {
    smol_qx x[4];
    for (int m = 0; m < MR; m++) x[m] = smol_qx_view(qxb + (size_t)m * qs, cols);
    const size_t nsb = cols / 256;
    const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3);
    __m256 acc[2][4];
    for (int m = 0; m < MR; m++) acc[0][m] = acc[1][m] = _mm256_setzero_ps();
    for (size_t b = 0; b < nsb; b++, g += SMOL_R8Q6_GSB) {
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(g + SMOL_R8Q6_D)));
        for (int n = 0; n < 2; n++) {
            const size_t xb0 = b * 8 + 4 * (size_t)n;  // x block of value group k: xb0 + k
            for (int h = 0; h < 2; h++) {
                __m256i a[4][4];  // [row][value group]
                for (int m = 0; m < MR; m++)
                    for (int k = 0; k < 4; k++) a[m][k] = _mm256_set1_epi32(-32 * x[m].s16[2 * (xb0 + (size_t)k) + (size_t)h]);
                for (int t = 4 * h; t < 4 * h + 4; t++) {
                    const uint8_t *st = g + (size_t)(n * 8 + t) * SMOL_R8Q6_STEP;
                    const __m256i l0 = _mm256_loadu_si256((const __m256i *)st);
                    const __m256i l1 = _mm256_loadu_si256((const __m256i *)(st + 32));
                    const __m256i qh = _mm256_loadu_si256((const __m256i *)(st + 64));
                    __m256i w[4];
                    w[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
                    w[1] = _mm256_or_si256(_mm256_and_si256(l1, m4),
                                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4));
                    w[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4));
                    w[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4));
                    for (int m = 0; m < MR; m++) {
                        const int8_t *xq = x[m].q + xb0 * 32 + 4 * t;
                        for (int k = 0; k < 4; k++) a[m][k] = TILE_DOT(a[m][k], w[k], _mm256_set1_epi32(ld32(xq + 32 * k)));
                    }
                }
                for (int k = 0; k < 4; k++) {
                    const __m256 sc = TILE_NAME(bytes8_ps)(g + SMOL_R8Q6_SC + 8 * (8 * n + 2 * k + h), 1);
                    for (int m = 0; m < MR; m++) {
                        const __m256 s = _mm256_mul_ps(_mm256_mul_ps(d, _mm256_set1_ps(x[m].d[xb0 + (size_t)k])), sc);
                        acc[h][m] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a[m][k]), s, acc[h][m]);
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
    switch (mr) {
    case 1: TILE_NAME(q6k_body)(g, qx, qs, cols, out, ldo, 1); break;
#if TILE_MAX >= 2
    case 2: TILE_NAME(q6k_body)(g, qx, qs, cols, out, ldo, 2); break;
#endif
#if TILE_MAX >= 3
    case 3: TILE_NAME(q6k_body)(g, qx, qs, cols, out, ldo, 3); break;
#endif
#if TILE_MAX >= 4
    case 4: TILE_NAME(q6k_body)(g, qx, qs, cols, out, ldo, 4); break;
#endif
    default: break;
    }
}
