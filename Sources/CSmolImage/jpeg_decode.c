// JPEG through libjpeg(-turbo) with default decoding settings (ISLOW IDCT, fancy upsampling),
// as Pillow uses them. libjpeg's default error handler calls exit(); ours longjmps back to
// the setjmp in this file, and every warning about corrupt or missing data is an error.
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "internal.h"

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    int code;
    smol_image *out;
} err_mgr;

static void error_exit(j_common_ptr cinfo) {
    err_mgr *e = (err_mgr *)cinfo->err;
    char buf[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, buf);
    smol_image_message(e->out, "JPEG: %s", buf);
    if (e->code == SMOL_IMG_OK) e->code = SMOL_IMG_CORRUPT;
    longjmp(e->jump, 1);
}

static void emit_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return;  // trace messages
    int msg = cinfo->err->msg_code;
    // "Unknown Adobe transform" and JFIF revision notes do not touch pixel data.
    if (msg == JWRN_ADOBE_XFORM || msg == JWRN_JFIF_MAJOR || msg == JWRN_BOGUS_ICC) return;
    err_mgr *e = (err_mgr *)cinfo->err;
    e->code = msg == JWRN_JPEG_EOF ? SMOL_IMG_TRUNCATED : SMOL_IMG_CORRUPT;
    error_exit(cinfo);
}

// Progressive files can hold thousands of tiny scans, each one a full pass over the image:
// a few bytes of input for minutes of work. Real encoders write about ten.
enum { MAX_SCANS = 500 };

static void progress(j_common_ptr cinfo) {
    if (!cinfo->is_decompressor) return;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->progressive_mode && d->input_scan_number > MAX_SCANS) {
        err_mgr *e = (err_mgr *)cinfo->err;
        smol_image_message(e->out, "JPEG: more than %d progressive scans", MAX_SCANS);
        e->code = SMOL_IMG_CORRUPT;
        longjmp(e->jump, 1);
    }
}

// Pillow's cmyk2rgb: r = 255 - k - c * (255 - k) / 255, rounded as MULDIV255.
static uint8_t cmyk_channel(unsigned c, unsigned k) {
    unsigned nk = 255 - k, t = c * nk + 128;
    int v = (int)nk - (int)(((t >> 8) + t) >> 8);
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

typedef struct {
    struct jpeg_decompress_struct cinfo;
    err_mgr err;
    struct jpeg_progress_mgr prog;
    uint8_t *pixels;
    uint8_t *row;
} jpeg_state;

int smol_jpeg_decode(const uint8_t *data, size_t size, const smol_image_limits *lim, int header_only,
                     smol_image *out) {
    jpeg_state *st = (jpeg_state *)calloc(1, sizeof(jpeg_state));
    if (!st) return smol_image_message(out, "JPEG: out of memory"), SMOL_IMG_NO_MEMORY;
    st->cinfo.err = jpeg_std_error(&st->err.pub);
    st->err.pub.error_exit = error_exit;
    st->err.pub.emit_message = emit_message;
    st->err.out = out;
    st->err.code = SMOL_IMG_OK;
    if (setjmp(st->err.jump)) {
        int rc = st->err.code;
        jpeg_destroy_decompress(&st->cinfo);
        free(st->pixels);
        free(st->row);
        free(st);
        out->pixels = NULL;
        return rc;
    }
    jpeg_create_decompress(&st->cinfo);
    st->prog.progress_monitor = progress;
    st->cinfo.progress = &st->prog;
    jpeg_mem_src(&st->cinfo, data, (unsigned long)size);
    jpeg_save_markers(&st->cinfo, JPEG_APP0 + 1, 0xffff);
    jpeg_read_header(&st->cinfo, TRUE);

    struct jpeg_decompress_struct *c = &st->cinfo;
    out->width = c->image_width;
    out->height = c->image_height;
    out->bit_depth = c->data_precision;
    switch (c->jpeg_color_space) {
    case JCS_GRAYSCALE: out->source_mode = SMOL_IMG_MODE_GRAY; break;
    case JCS_CMYK: out->source_mode = SMOL_IMG_MODE_CMYK; break;
    case JCS_YCCK: out->source_mode = SMOL_IMG_MODE_YCCK; break;
    case JCS_RGB: out->source_mode = SMOL_IMG_MODE_RGB; break;
    default: out->source_mode = SMOL_IMG_MODE_YCBCR; break;
    }
    for (jpeg_saved_marker_ptr m = c->marker_list; m; m = m->next) {
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && memcmp(m->data, "Exif\0\0", 6) == 0) {
            out->orientation = smol_exif_orientation(m->data, m->data_length);
            break;
        }
    }
    int rc = smol_image_check_limits(out, lim);
    if (header_only || rc != SMOL_IMG_OK) {
        jpeg_destroy_decompress(c);
        free(st);
        return rc;
    }
    int cmyk = c->jpeg_color_space == JCS_CMYK || c->jpeg_color_space == JCS_YCCK;
    int gray = c->jpeg_color_space == JCS_GRAYSCALE;
    c->out_color_space = cmyk ? JCS_CMYK : gray ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(c);
    size_t w = c->output_width, h = c->output_height, comps = (size_t)c->output_components;
    st->pixels = (uint8_t *)malloc(w * h * 3);
    st->row = (uint8_t *)malloc(w * comps);
    if (!st->pixels || !st->row) {
        st->err.code = SMOL_IMG_NO_MEMORY;
        ERREXIT(c, JERR_OUT_OF_MEMORY);
    }
    while (c->output_scanline < h) {
        size_t y = c->output_scanline;
        JSAMPROW rows[1] = {st->row};
        if (jpeg_read_scanlines(c, rows, 1) != 1) {
            st->err.code = SMOL_IMG_TRUNCATED;
            ERREXIT(c, JERR_INPUT_EOF);
        }
        uint8_t *dst = st->pixels + y * w * 3;
        const uint8_t *s = st->row;
        if (cmyk) {
            // Pillow reads CMYK JPEGs as Adobe-inverted ("CMYK;I"): stored 255 means no ink.
            for (size_t x = 0; x < w; x++, s += 4) {
                unsigned k = 255u - s[3];
                dst[3 * x] = cmyk_channel(255u - s[0], k);
                dst[3 * x + 1] = cmyk_channel(255u - s[1], k);
                dst[3 * x + 2] = cmyk_channel(255u - s[2], k);
            }
        } else if (gray) {
            for (size_t x = 0; x < w; x++) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = s[x];
        } else {
            memcpy(dst, s, w * 3);
        }
    }
    jpeg_finish_decompress(c);
    jpeg_destroy_decompress(c);
    out->pixels = st->pixels;
    free(st->row);
    free(st);
    return SMOL_IMG_OK;
}
