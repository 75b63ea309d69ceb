#ifndef SMOL_IMAGE_INTERNAL_H
#define SMOL_IMAGE_INTERNAL_H
#include "include/smol_image.h"

int smol_image_message(smol_image *out, const char *fmt, ...);
int smol_image_check_limits(smol_image *out, const smol_image_limits *lim);
int smol_exif_orientation(const uint8_t *p, size_t n);
int smol_png_decode(const uint8_t *data, size_t size, const smol_image_limits *lim, int header_only, smol_image *out);
int smol_jpeg_decode(const uint8_t *data, size_t size, const smol_image_limits *lim, int header_only, smol_image *out);
#endif
