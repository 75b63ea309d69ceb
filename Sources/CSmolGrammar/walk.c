#include "smol_grammar.h"
#include <math.h>

long smol_grammar_walk(const uint8_t *byte, const int32_t *depth, const int32_t *skip, const int32_t *tok_start,
                       const int32_t *tokens, long n_nodes, const int32_t *trans, int32_t *state_at, long start,
                       uint64_t *bits) {
    long i = start;
    while (i < n_nodes) {
        int32_t d = depth[i];
        int32_t t = trans[(long)state_at[d - 1] * 256 + byte[i]];
        if (t == -2) return i;
        if (t < 0) { i = skip[i]; continue; }
        state_at[d] = t;
        for (int32_t k = tok_start[i]; k < tok_start[i + 1]; k++) {
            int32_t id = tokens[k];
            bits[id >> 6] |= (uint64_t)1 << (id & 63);
        }
        i++;
    }
    return -1;
}

void smol_grammar_apply_mask(float *logits, const uint64_t *bits, long n) {
    for (long w = 0; w * 64 < n; w++) {
        uint64_t m = bits[w];
        if (m == ~(uint64_t)0) continue;
        long end = (w + 1) * 64 < n ? (w + 1) * 64 : n;
        for (long i = w * 64; i < end; i++)
            if (!((m >> (i & 63)) & 1)) logits[i] = -INFINITY;
    }
}
