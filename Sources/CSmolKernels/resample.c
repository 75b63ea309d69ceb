// Image resampling with the arithmetic of Pillow's Image.resize on 8-bit images, so that the
// pixels the vision encoder sees are identical to transformers' (PIL path) processor:
// separable passes (horizontal, then vertical), filter weights computed in double, normalised
// per output pixel, then turned into fixed-point integers with 22 fractional bits; each
// output is the rounded, clamped integer sum. Horizontal pass first, except that images more
// than 100 times taller than wide shrink vertically first, as Pillow's Image.resize does
// (Pillow 12.2, pinned for the goldens; 600 random sizes, extreme aspects included, match).
#include "smol_kernels.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { FRACTION_BITS = 22 };

static double sinc(double x) {
    if (x == 0.0) return 1.0;
    x *= M_PI;
    return sin(x) / x;
}

static double lanczos3(double x) { return (-3.0 <= x && x < 3.0) ? sinc(x) * sinc(x / 3.0) : 0.0; }

typedef struct {
    int ksize;
    int *first;    // [out] first input index of each output
    int *count;    // [out] inputs used
    int32_t *coef; // [out, ksize] fixed-point weights
} taps;

static void taps_free(taps *t) {
    free(t->first);
    free(t->count);
    free(t->coef);
    t->first = t->count = NULL;
    t->coef = NULL;
}

// Weights mapping in_size samples onto out_size, as Pillow's precompute_coeffs + the 8-bit
// normalisation.
static int taps_make(taps *t, size_t in_size, size_t out_size) {
    const double support_base = 3.0;
    double scale = (double)in_size / (double)out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = support_base * filterscale;
    t->ksize = (int)ceil(support) * 2 + 1;
    t->first = malloc(out_size * sizeof(int));
    t->count = malloc(out_size * sizeof(int));
    t->coef = calloc(out_size * (size_t)t->ksize, sizeof(int32_t));
    double *w = malloc((size_t)t->ksize * sizeof(double));
    if (!t->first || !t->count || !t->coef || !w) { free(w); taps_free(t); return -1; }
    for (size_t o = 0; o < out_size; o++) {
        double center = ((double)o + 0.5) * scale;
        double inv = 1.0 / filterscale;
        int lo = (int)(center - support + 0.5);
        if (lo < 0) lo = 0;
        int hi = (int)(center + support + 0.5);
        if (hi > (int)in_size) hi = (int)in_size;
        int n = hi - lo;
        if (n > t->ksize) n = t->ksize;
        double total = 0.0;
        for (int i = 0; i < n; i++) {
            w[i] = lanczos3(((double)(i + lo) - center + 0.5) * inv);
            total += w[i];
        }
        int32_t *k = t->coef + o * (size_t)t->ksize;
        for (int i = 0; i < n; i++) {
            double v = total != 0.0 ? w[i] / total : w[i];
            double fixed = v * (double)(1 << FRACTION_BITS);
            k[i] = (int32_t)(v < 0 ? fixed - 0.5 : fixed + 0.5);
        }
        t->first[o] = lo;
        t->count[o] = n;
    }
    free(w);
    return 0;
}

static inline uint8_t clamp_u8(int32_t acc) {
    int32_t v = acc >> FRACTION_BITS;  // arithmetic shift: floor for negative sums
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static void pass_horizontal(const uint8_t *src, size_t w, size_t rows, size_t ch, uint8_t *dst, size_t ow,
                            const taps *t) {
    for (size_t y = 0; y < rows; y++) {
        const uint8_t *in = src + y * w * ch;
        uint8_t *out = dst + y * ow * ch;
        for (size_t o = 0; o < ow; o++) {
            const int32_t *k = t->coef + o * (size_t)t->ksize;
            const uint8_t *p = in + (size_t)t->first[o] * ch;
            for (size_t c = 0; c < ch; c++) {
                int32_t acc = 1 << (FRACTION_BITS - 1);
                for (int i = 0; i < t->count[o]; i++) acc += (int32_t)p[(size_t)i * ch + c] * k[i];
                out[o * ch + c] = clamp_u8(acc);
            }
        }
    }
}

static void pass_vertical(const uint8_t *src, size_t h, size_t w, size_t ch, uint8_t *dst, size_t oh,
                          const taps *t) {
    size_t row = w * ch;
    (void)h;
    for (size_t o = 0; o < oh; o++) {
        const int32_t *k = t->coef + o * (size_t)t->ksize;
        const uint8_t *base = src + (size_t)t->first[o] * row;
        uint8_t *out = dst + o * row;
        for (size_t x = 0; x < row; x++) {
            int32_t acc = 1 << (FRACTION_BITS - 1);
            for (int i = 0; i < t->count[o]; i++) acc += (int32_t)base[(size_t)i * row + x] * k[i];
            out[x] = clamp_u8(acc);
        }
    }
}

int smol_resize_lanczos_u8(const uint8_t *src, size_t w, size_t h, size_t channels, uint8_t *dst,
                           size_t ow, size_t oh) {
    if (!src || !dst || w == 0 || h == 0 || ow == 0 || oh == 0 || channels == 0 || channels > 4) return -1;
    int horizontal = ow != w, vertical = oh != h;
    if (!horizontal && !vertical) {
        memcpy(dst, src, w * h * channels);
        return 0;
    }
    taps th = {0}, tv = {0};
    uint8_t *mid = NULL;
    int rc = -1;
    if (horizontal && taps_make(&th, w, ow) != 0) goto done;
    if (vertical && taps_make(&tv, h, oh) != 0) goto done;
    if (horizontal && vertical && h > w * 100 && oh < h) {
        // Pillow's Image.resize shrinks very tall images (height > 100 x width) vertically
        // first, as two separate resizes; the rounding of the 8-bit intermediate differs.
        mid = malloc(w * oh * channels);
        if (!mid) goto done;
        pass_vertical(src, h, w, channels, mid, oh, &tv);
        pass_horizontal(mid, w, oh, channels, dst, ow, &th);
    } else if (horizontal && vertical) {
        mid = malloc(ow * h * channels);
        if (!mid) goto done;
        pass_horizontal(src, w, h, channels, mid, ow, &th);
        pass_vertical(mid, h, ow, channels, dst, oh, &tv);
    } else if (horizontal) {
        pass_horizontal(src, w, h, channels, dst, ow, &th);
    } else {
        pass_vertical(src, h, w, channels, dst, oh, &tv);
    }
    rc = 0;
done:
    free(mid);
    if (horizontal) taps_free(&th);
    if (vertical) taps_free(&tv);
    return rc;
}
