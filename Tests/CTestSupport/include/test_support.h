// C helpers for the tests only (not part of the product).
#ifndef SMOL_TEST_SUPPORT_H
#define SMOL_TEST_SUPPORT_H
#include <stddef.h>
#include <stdint.h>

// SHA-256 (FIPS 180-4) of n bytes, as 64 lowercase hex digits and a NUL in hex[65]: the digest
// fixture scripts record with Python's hashlib for tensors too large to commit.
void smol_test_sha256_hex(const void *data, size_t n, char hex[65]);

#endif
