/* SHA-256 of a buffer in one call: with the CPU's SHA extensions where it
 * has them (x86-64), libsodium's portable code otherwise. Unsigned
 * messages are identified by the SHA-256 of their data, computed for
 * every copy a node receives: libsodium's was a tenth of an unsigned
 * network's CPU. */
#ifndef LP2P_CRYPTO_SHA256_H
#define LP2P_CRYPTO_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define LP2P_SHA256_LEN 32

void lp2p__sha256(uint8_t out[LP2P_SHA256_LEN], const uint8_t *data,
                  size_t len);

/* Whether lp2p__sha256 uses the SHA extensions on this machine. */
int lp2p__sha256_accelerated(void);

#endif
