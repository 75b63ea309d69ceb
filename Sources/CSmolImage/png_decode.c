// PNG through libpng's full API (not the simplified one: that one treats 16-bit data as
// linear light and gamma-encodes it, which no Python reference does).
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct {
    const uint8_t *data;
    size_t size, pos;
    smol_image *out;
    int truncated;
} png_src;

static void read_fn(png_structp png, png_bytep dst, size_t n) {
    png_src *s = (png_src *)png_get_io_ptr(png);
    if (n > s->size - s->pos) {
        s->truncated = 1;
        png_error(png, "file ends before the image data does");
    }
    memcpy(dst, s->data + s->pos, n);
    s->pos += n;
}

static void error_fn(png_structp png, png_const_charp msg) {
    png_src *s = (png_src *)png_get_error_ptr(png);
    smol_image_message(s->out, "PNG: %s", msg);
    png_longjmp(png, 1);
}

static void warning_fn(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

static int mode_of(int color_type) {
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: return SMOL_IMG_MODE_GRAY;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return SMOL_IMG_MODE_GRAY_ALPHA;
    case PNG_COLOR_TYPE_PALETTE: return SMOL_IMG_MODE_PALETTE;
    case PNG_COLOR_TYPE_RGB: return SMOL_IMG_MODE_RGB;
    default: return SMOL_IMG_MODE_RGBA;
    }
}

// Everything that longjmp can skip over lives in `st`, so it is still valid afterwards.
typedef struct {
    png_structp png;
    png_infop info;
    uint8_t *pixels;
    uint8_t *wide;        // 16-bit gray rows before reduction
    png_bytep *rows;
} png_state;

int smol_png_decode(const uint8_t *data, size_t size, const smol_image_limits *lim, int header_only,
                    smol_image *out) {
    png_src src = {data, size, 0, out, 0};
    // libpng rejects a zero dimension as a generic IHDR error; name it.
    if (size >= 24 && memcmp(data + 12, "IHDR", 4) == 0) {
        uint32_t w = (uint32_t)data[16] << 24 | (uint32_t)data[17] << 16 | (uint32_t)data[18] << 8 | data[19];
        uint32_t h = (uint32_t)data[20] << 24 | (uint32_t)data[21] << 16 | (uint32_t)data[22] << 8 | data[23];
        if (w == 0 || h == 0) {
            out->width = w;
            out->height = h;
            return smol_image_check_limits(out, NULL);
        }
    }
    png_state st;
    memset(&st, 0, sizeof st);
    volatile int rc = SMOL_IMG_CORRUPT;
    st.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, error_fn, warning_fn);
    if (!st.png) return smol_image_message(out, "PNG: out of memory"), SMOL_IMG_NO_MEMORY;
    st.info = png_create_info_struct(st.png);
    if (!st.info) {
        png_destroy_read_struct(&st.png, NULL, NULL);
        return smol_image_message(out, "PNG: out of memory"), SMOL_IMG_NO_MEMORY;
    }
    png_state *volatile stp = &st;
    if (setjmp(png_jmpbuf(st.png))) {
        png_state *s = stp;
        if (src.truncated) rc = SMOL_IMG_TRUNCATED;
        free(s->pixels);
        free(s->wide);
        free(s->rows);
        out->pixels = NULL;
        png_destroy_read_struct(&s->png, &s->info, NULL);
        return rc;
    }
    png_set_read_fn(st.png, &src, read_fn);
    // libpng's own ceilings as a second line: our limits are checked below, with a clear message.
    png_set_user_limits(st.png, 0x7fffffff, 0x7fffffff);
    png_set_chunk_malloc_max(st.png, 64u << 20);
    png_read_info(st.png, st.info);

    png_uint_32 w = png_get_image_width(st.png, st.info), h = png_get_image_height(st.png, st.info);
    int depth = png_get_bit_depth(st.png, st.info), ctype = png_get_color_type(st.png, st.info);
    out->width = w;
    out->height = h;
    out->bit_depth = depth;
    out->source_mode = mode_of(ctype);
    png_bytep exif = NULL;
    png_uint_32 exif_len = 0;
#ifdef PNG_eXIf_SUPPORTED
    if (png_get_eXIf_1(st.png, st.info, &exif_len, &exif) && exif && exif_len > 0)
        out->orientation = smol_exif_orientation(exif, exif_len);
#endif
    int lrc = smol_image_check_limits(out, lim);
    if (header_only || lrc != SMOL_IMG_OK) {
        png_destroy_read_struct(&st.png, &st.info, NULL);
        return lrc;
    }

    // Pillow's convert("RGB"): palette -> its RGB entries (tRNS ignored), 1/2/4-bit gray scaled
    // to 0..255, alpha dropped, 16-bit colour keeps the high byte. 16-bit gray is reduced below.
    // (16-bit gray+alpha opens as RGBA in Pillow, so it keeps the high byte like colour.)
    int gray16 = ctype == PNG_COLOR_TYPE_GRAY && depth == 16;
    if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(st.png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(st.png);
    // Also drops the alpha that palette/gray/RGB tRNS entries expand to.
    png_set_strip_alpha(st.png);
    if (depth == 16 && !gray16) png_set_strip_16(st.png);
    if (!gray16 && (ctype == PNG_COLOR_TYPE_GRAY || ctype == PNG_COLOR_TYPE_GRAY_ALPHA)) png_set_gray_to_rgb(st.png);
    png_set_interlace_handling(st.png);
    png_read_update_info(st.png, st.info);
    size_t rowbytes = png_get_rowbytes(st.png, st.info);
    size_t expect = gray16 ? (size_t)w * 2 : (size_t)w * 3;
    if (rowbytes != expect) {
        smol_image_message(out, "PNG: unexpected row size %zu for %u pixels", rowbytes, (unsigned)w);
        png_destroy_read_struct(&st.png, &st.info, NULL);
        return SMOL_IMG_CORRUPT;
    }
    st.pixels = (uint8_t *)malloc((size_t)w * h * 3);
    st.rows = (png_bytep *)malloc(sizeof(png_bytep) * h);
    if (gray16) st.wide = (uint8_t *)malloc((size_t)w * h * 2);
    if (!st.pixels || !st.rows || (gray16 && !st.wide)) {
        smol_image_message(out, "PNG: out of memory for %ux%u", (unsigned)w, (unsigned)h);
        rc = SMOL_IMG_NO_MEMORY;
        png_error(st.png, "out of memory");
    }
    uint8_t *base = gray16 ? st.wide : st.pixels;
    for (png_uint_32 y = 0; y < h; y++) st.rows[y] = base + (size_t)y * rowbytes;
    png_read_image(st.png, st.rows);
    // The rest of the file must be there too (a file cut after its pixel data is still cut).
    png_read_end(st.png, NULL);
    if (gray16) {
        // Pillow opens 16-bit gray as mode "I;16", whose conversion to RGB clips at 255.
        for (size_t i = 0; i < (size_t)w * h; i++) {
            unsigned v = ((unsigned)st.wide[2 * i] << 8) | st.wide[2 * i + 1];
            uint8_t g = v > 255 ? 255 : (uint8_t)v;
            st.pixels[3 * i] = st.pixels[3 * i + 1] = st.pixels[3 * i + 2] = g;
        }
        free(st.wide);
        st.wide = NULL;
    }
    free(st.rows);
    st.rows = NULL;
    out->pixels = st.pixels;
    st.pixels = NULL;
    png_destroy_read_struct(&st.png, &st.info, NULL);
    return SMOL_IMG_OK;
}
