// Shared internals of the C kernels (not part of the public header).
#ifndef SMOL_INTERNAL_H
#define SMOL_INTERNAL_H
#include <stddef.h>

static inline void smol_split(size_t total, int ith, int nth, size_t *begin, size_t *end) {
    size_t per = total / (size_t)nth, extra = total % (size_t)nth;
    size_t i = (size_t)ith;
    *begin = i * per + (i < extra ? i : extra);
    *end = *begin + per + (i < extra ? 1 : 0);
}

float smol_dot_f32(const float *a, const float *b, size_t n);
void smol_axpy_f32(float a, const float *x, float *y, size_t n);  // y += a*x
#endif
