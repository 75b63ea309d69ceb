#ifndef SMOL_GRAMMAR_H
#define SMOL_GRAMMAR_H
#include <stdint.h>

/// The hot loop of constrained decoding: which tokens of a vocabulary can follow a grammar state.
///
/// The vocabulary is a byte trie in preorder: node i has `byte[i]`, `depth[i]` (1 for children of the
/// root), `skip[i]` (the index after its subtree) and the tokens that end there,
/// `tokens[tok_start[i] .. tok_start[i+1])`. `trans[s * 256 + b]` is the state after byte b in state s:
/// -1 dead, -2 not computed yet. `state_at[0]` is the start state; `state_at[d]` is scratch for depth d.
///
/// Sets the bit of every token reachable without dying, starting from node `start`. Returns -1 when the
/// walk is done, or the index of a node whose transition is not computed yet (the caller computes
/// `trans[state_at[depth[i] - 1] * 256 + byte[i]]` and calls again with `start` = that index).
long smol_grammar_walk(const uint8_t *byte, const int32_t *depth, const int32_t *skip, const int32_t *tok_start,
                       const int32_t *tokens, long n_nodes, const int32_t *trans, int32_t *state_at, long start,
                       uint64_t *bits);

/// logits[i] = -inf for every i < n whose bit is clear.
void smol_grammar_apply_mask(float *logits, const uint64_t *bits, long n);

#endif
