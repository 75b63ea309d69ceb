// CPU feature detection, instruction-set selection, denormal flushing and scalar conversions.
#include "smol_kernels.h"
#include "internal.h"

#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#endif

static int g_isa = -1;

int smol_isa_best(void) {
#if defined(__x86_64__)
    static int best = -1;
    if (best >= 0) return best;
    __builtin_cpu_init();
    best = (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
            __builtin_cpu_supports("f16c")) ? SMOL_ISA_AVX2 : SMOL_ISA_SCALAR;
    return best;
#else
    return SMOL_ISA_SCALAR;
#endif
}

int smol_isa_active(void) {
    if (g_isa < 0) g_isa = smol_isa_best();
    return g_isa;
}

void smol_isa_set(int level) {
    int best = smol_isa_best();
    if (level < 0) level = 0;
    g_isa = level > best ? best : level;
}

int smol_cpu_has_avx512(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
#else
    return 0;
#endif
}

const char *smol_isa_name(int level) {
    switch (level) {
    case SMOL_ISA_AVX2: return "avx2+fma+f16c";
    default: return "scalar";
    }
}

void smol_flush_denormals(void) {
#if defined(__x86_64__)
    // FTZ (bit 15) and DAZ (bit 6): denormal weights or activations otherwise slow FMAs ~10x.
    _mm_setcsr(_mm_getcsr() | 0x8040);
#elif defined(__aarch64__)
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr | (1ull << 24)));
#endif
}

float smol_bf16_to_f32(uint16_t v) {
    uint32_t bits = (uint32_t)v << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t smol_f32_to_bf16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40);  // quiet NaN
    uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)((bits + rounding) >> 16);
}

float smol_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            int e = -1;
            do { e++; mant <<= 1; } while ((mant & 0x400) == 0);
            mant &= 0x3ff;
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | (mant << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t smol_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t absx = x & 0x7fffffffu;
    if (absx > 0x7f800000u) return (uint16_t)(sign | 0x7e00);          // NaN
    if (absx >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);         // overflow -> Inf
    if (absx < 0x38800000u) {                                          // subnormal or zero
        if (absx < 0x33000000u) return (uint16_t)sign;
        uint32_t e = absx >> 23;
        uint32_t m = (absx & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e;  // 14 + (113 - e) - 1 + 1
        uint32_t half = m >> (shift);
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t r = absx + 0xfffu + ((absx >> 13) & 1u);  // round to nearest even at bit 13
    return (uint16_t)(sign | ((r - 0x38000000u) >> 13));
}
