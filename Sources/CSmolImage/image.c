#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int smol_image_message(smol_image *out, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
    return 0;
}

int smol_image_check_limits(smol_image *out, const smol_image_limits *lim) {
    if (out->width == 0 || out->height == 0) {
        smol_image_message(out, "image is %zux%zu", out->width, out->height);
        return SMOL_IMG_ZERO_SIZE;
    }
    if (!lim) return SMOL_IMG_OK;
    if (out->width > lim->max_width || out->height > lim->max_height ||
        out->width > lim->max_pixels / out->height) {
        smol_image_message(out, "image is %zux%zu; the limit is %zux%zu and %zu pixels", out->width,
                           out->height, lim->max_width, lim->max_height, lim->max_pixels);
        return SMOL_IMG_TOO_LARGE;
    }
    return SMOL_IMG_OK;
}

static unsigned rd16(const uint8_t *p, int le) { return le ? (p[0] | p[1] << 8) : (p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p, int le) {
    return le ? ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24)
              : ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3]);
}

// The Orientation tag (0x0112) of IFD0 in a TIFF-structured EXIF block, optionally behind the
// "Exif\0\0" prefix that JPEG's APP1 carries. Anything malformed reads as 1 (upright).
int smol_exif_orientation(const uint8_t *p, size_t n) {
    if (n >= 6 && memcmp(p, "Exif\0\0", 6) == 0) { p += 6; n -= 6; }
    if (n < 8) return 1;
    int le;
    if (p[0] == 'I' && p[1] == 'I') le = 1;
    else if (p[0] == 'M' && p[1] == 'M') le = 0;
    else return 1;
    if (rd16(p + 2, le) != 42) return 1;
    uint32_t ifd = rd32(p + 4, le);
    if (ifd > n - 2) return 1;
    unsigned count = rd16(p + ifd, le);
    for (unsigned i = 0; i < count; i++) {
        size_t e = (size_t)ifd + 2 + (size_t)i * 12;
        if (e + 12 > n) return 1;
        if (rd16(p + e, le) != 0x0112) continue;
        if (rd16(p + e + 2, le) != 3) return 1;  // SHORT
        unsigned v = rd16(p + e + 8, le);
        return (v >= 1 && v <= 8) ? (int)v : 1;
    }
    return 1;
}

static int sniff(const uint8_t *d, size_t n) {
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
    if (n >= 8 && memcmp(d, png_sig, 8) == 0) return SMOL_IMG_PNG;
    if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff) return SMOL_IMG_JPEG;
    return 0;
}

static int run(const uint8_t *data, size_t size, const smol_image_limits *lim, int header_only, smol_image *out) {
    memset(out, 0, sizeof *out);
    out->orientation = 1;
    out->format = sniff(data, size);
    switch (out->format) {
    case SMOL_IMG_PNG: return smol_png_decode(data, size, lim, header_only, out);
    case SMOL_IMG_JPEG: return smol_jpeg_decode(data, size, lim, header_only, out);
    default:
        smol_image_message(out, size == 0 ? "file is empty" : "not a PNG or JPEG file (unknown signature)");
        return SMOL_IMG_UNKNOWN_FORMAT;
    }
}

int smol_image_decode(const uint8_t *data, size_t size, const smol_image_limits *limits, smol_image *out) {
    return run(data, size, limits, 0, out);
}

int smol_image_probe(const uint8_t *data, size_t size, smol_image *out) { return run(data, size, NULL, 1, out); }

void smol_image_free(smol_image *img) {
    if (!img) return;
    free(img->pixels);
    img->pixels = NULL;
}

const char *smol_image_mode_name(int mode) {
    switch (mode) {
    case SMOL_IMG_MODE_GRAY: return "gray";
    case SMOL_IMG_MODE_GRAY_ALPHA: return "gray+alpha";
    case SMOL_IMG_MODE_PALETTE: return "palette";
    case SMOL_IMG_MODE_RGB: return "rgb";
    case SMOL_IMG_MODE_RGBA: return "rgba";
    case SMOL_IMG_MODE_CMYK: return "cmyk";
    case SMOL_IMG_MODE_YCCK: return "ycck";
    case SMOL_IMG_MODE_YCBCR: return "ycbcr";
    default: return "unknown";
    }
}
