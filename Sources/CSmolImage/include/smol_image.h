// PNG and JPEG decoding to 8-bit RGB for SmolVision, through libpng and libjpeg(-turbo).
// Every libpng/libjpeg error is caught inside C (setjmp/longjmp never cross into Swift),
// sizes are checked against limits from the header before any pixel buffer is allocated,
// and truncated or corrupt data is an error, never a partial image.
#ifndef SMOL_IMAGE_H
#define SMOL_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    SMOL_IMG_OK = 0,
    SMOL_IMG_UNKNOWN_FORMAT = 1,  // neither PNG nor JPEG signature
    SMOL_IMG_CORRUPT = 2,         // decoder rejected the data (message says why)
    SMOL_IMG_TRUNCATED = 3,       // data ends before the image does
    SMOL_IMG_TOO_LARGE = 4,       // header dimensions exceed the limits
    SMOL_IMG_NO_MEMORY = 5,
    SMOL_IMG_ZERO_SIZE = 6,       // header says width or height is 0
};

enum { SMOL_IMG_PNG = 1, SMOL_IMG_JPEG = 2 };

typedef struct {
    size_t max_width;
    size_t max_height;
    size_t max_pixels;  // width * height
} smol_image_limits;

typedef struct {
    int format;          // SMOL_IMG_PNG / SMOL_IMG_JPEG (0 if unknown)
    size_t width;        // as stored, before EXIF orientation
    size_t height;
    int orientation;     // EXIF orientation 1..8; 1 when absent or invalid
    int source_mode;     // colour model as stored: see smol_image_mode_name
    int bit_depth;       // bits per sample as stored
    uint8_t *pixels;     // width * height * 3, RGB; free with smol_image_free
    char message[200];   // decoder's message on failure
} smol_image;

// Decodes PNG or JPEG bytes to RGB, converting the way Pillow's Image.convert("RGB") does
// (alpha dropped, palette expanded, gray replicated, 16-bit samples reduced, Adobe CMYK
// inverted and converted). Returns SMOL_IMG_OK or an error code; `out` is always filled.
int smol_image_decode(const uint8_t *data, size_t size, const smol_image_limits *limits, smol_image *out);

// Reads only the header: format and stored dimensions.
int smol_image_probe(const uint8_t *data, size_t size, smol_image *out);

void smol_image_free(smol_image *img);

enum {
    SMOL_IMG_MODE_GRAY = 1, SMOL_IMG_MODE_GRAY_ALPHA = 2, SMOL_IMG_MODE_PALETTE = 3, SMOL_IMG_MODE_RGB = 4,
    SMOL_IMG_MODE_RGBA = 5, SMOL_IMG_MODE_CMYK = 6, SMOL_IMG_MODE_YCCK = 7, SMOL_IMG_MODE_YCBCR = 8,
};
// "gray", "gray+alpha", "palette", "rgb", "rgba", "cmyk", "ycck", "ycbcr".
const char *smol_image_mode_name(int mode);

#ifdef __cplusplus
}
#endif
#endif
