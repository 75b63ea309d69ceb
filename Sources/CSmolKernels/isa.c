// CPU feature detection, instruction-set selection, denormal flushing and scalar conversions.
//
// Features come from cpuid, and count only when the OS saves the register state they need
// (xgetbv: ymm for AVX2, opmask + zmm for AVX-512, and on Linux the AMX tile data, which a
// process must request with arch_prctl). Kernels pick a path from the active level; the
// environment variable SMOL_ISA caps it (scalar, avx2, avx512, avx512bf16, amx) so that every
// path can be tested and benchmarked on one machine.
#define _GNU_SOURCE
#include "smol_kernels.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#endif
#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

static int g_isa = -1;

#if defined(__x86_64__)
static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

// AMX tile data is off by default on Linux: ask for it once (ARCH_REQ_XCOMP_PERM = 0x1023,
// XFEATURE_XTILEDATA = 18). Returns 1 when the process may use tiles.
static int request_amx(void) {
#if defined(__linux__)
    return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
#else
    return 0;
#endif
}
#endif

static unsigned detect_features(void) {
    unsigned f = 0;
#if defined(__x86_64__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int osxsave = (c >> 27) & 1;
    unsigned fma = (c >> 12) & 1, f16c = (c >> 29) & 1, avx = (c >> 28) & 1;
    uint64_t xcr0 = osxsave ? xgetbv0() : 0;
    int os_ymm = (xcr0 & 0x6) == 0x6;                  // SSE + AVX state
    int os_zmm = os_ymm && (xcr0 & 0xe0) == 0xe0;      // opmask, ZMM_Hi256, Hi16_ZMM
    int os_tile = (xcr0 & 0x60000) == 0x60000;         // XTILECFG, XTILEDATA
    unsigned max_leaf = __get_cpuid_max(0, NULL);
    unsigned b7 = 0, c7 = 0, d7 = 0, a71 = 0;
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, a, b7, c7, d7);
        __cpuid_count(7, 1, a71, b, c, d);
    }
    if (os_ymm && avx && fma && f16c && ((b7 >> 5) & 1)) f |= SMOL_FEAT_AVX2;
    if (os_zmm && ((b7 >> 16) & 1) && ((b7 >> 17) & 1) && ((b7 >> 30) & 1) && ((b7 >> 31) & 1))
        f |= SMOL_FEAT_AVX512;                         // F, DQ, BW, VL
    if ((f & SMOL_FEAT_AVX512) && ((a71 >> 5) & 1)) f |= SMOL_FEAT_AVX512_BF16;
    if ((f & SMOL_FEAT_AVX512) && ((c7 >> 11) & 1)) f |= SMOL_FEAT_AVX512_VNNI;
    if ((f & SMOL_FEAT_AVX2) && ((a71 >> 4) & 1)) f |= SMOL_FEAT_AVX_VNNI;
    if (os_tile && ((d7 >> 24) & 1) && ((d7 >> 22) & 1) && request_amx()) {
        f |= SMOL_FEAT_AMX_BF16;
        if ((d7 >> 25) & 1) f |= SMOL_FEAT_AMX_INT8;
    }
#endif
    return f;
}

unsigned smol_cpu_features(void) {
    static int done = 0;
    static unsigned features = 0;
    if (!done) { features = detect_features(); done = 1; }
    return features;
}

int smol_isa_best(void) {
    unsigned f = smol_cpu_features();
    if (!(f & SMOL_FEAT_AVX2)) return SMOL_ISA_SCALAR;
    if (!(f & SMOL_FEAT_AVX512)) return SMOL_ISA_AVX2;
    if (!(f & SMOL_FEAT_AVX512_BF16)) return SMOL_ISA_AVX512;
    if (!(f & SMOL_FEAT_AMX_BF16)) return SMOL_ISA_AVX512_BF16;
    return SMOL_ISA_AMX;
}

static const char *const isa_keys[] = {"scalar", "avx2", "avx512", "avx512bf16", "amx"};

int smol_isa_parse(const char *name) {
    if (!name) return -1;
    for (int i = 0; i <= SMOL_ISA_AMX; i++)
        if (strcasecmp(name, isa_keys[i]) == 0) return i;
    return -1;
}

const char *smol_isa_key(int level) {
    return level >= 0 && level <= SMOL_ISA_AMX ? isa_keys[level] : "?";
}

int smol_isa_active(void) {
    if (g_isa < 0) {
        // SMOL_ISA caps the level; an unknown value is ignored here (the CLI and SmolModel
        // refuse it with an error before any kernel runs).
        int cap = smol_isa_parse(getenv("SMOL_ISA"));
        int best = smol_isa_best();
        g_isa = cap >= 0 && cap < best ? cap : best;
    }
    return g_isa;
}

void smol_isa_set(int level) {
    int best = smol_isa_best();
    if (level < 0) level = 0;
    g_isa = level > best ? best : level;
}

int smol_cpu_has_avx512(void) { return (smol_cpu_features() & SMOL_FEAT_AVX512) ? 1 : 0; }

const char *smol_isa_name(int level) {
    switch (level) {
    case SMOL_ISA_AVX2: return "avx2+fma+f16c";
    case SMOL_ISA_AVX512: return "avx512f/bw/dq/vl";
    case SMOL_ISA_AVX512_BF16: return "avx512+avx512_bf16";
    case SMOL_ISA_AMX: return "avx512_bf16+amx";
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

void smol_store_row(const float *src, void *dst, smol_dtype dt, size_t n) {
    if (dt == SMOL_BF16) {
        uint16_t *d = dst;
        for (size_t i = 0; i < n; i++) d[i] = smol_f32_to_bf16(src[i]);
    } else if (dt == SMOL_F16) {
        uint16_t *d = dst;
        for (size_t i = 0; i < n; i++) d[i] = smol_f32_to_f16(src[i]);
    } else {
        memcpy(dst, src, n * sizeof(float));
    }
}
