/* Signature verdicts shared by every node of a simulation run. Each node
 * verifies each message it receives (a million Ed25519 checks for 10,000
 * nodes x 100 messages), but a verdict depends only on the author's key,
 * the signed bytes and the signature: a run verifies each distinct triple
 * once. */
#ifndef LP2P_SIM_SIGCACHE_H
#define LP2P_SIM_SIGCACHE_H

#include "base/u64map.h"
#include "lp2p/crypto.h"

typedef struct sim_verdict {
  uint8_t digest[32]; /* BLAKE2b-256 of key, signature and signed bytes */
  int result;         /* lp2p_pubkey_verify's */
} sim_verdict;

typedef struct sim_sigcache {
  const lp2p_mem *mem;
  lp2p_u64map index; /* the digest's first 8 bytes -> verdict index + 1 */
  sim_verdict *verdicts;
  size_t len, cap;
  uint64_t hits, checks;
} sim_sigcache;

void lp2p__sim_sigcache_init(sim_sigcache *c, const lp2p_mem *mem);
void lp2p__sim_sigcache_free(sim_sigcache *c);
/* lp2p_pubkey_verify's result for these bytes, computed at most once per
 * distinct (key, data, signature) while the cache has room. */
int lp2p__sim_sigcache_verify(sim_sigcache *c, const lp2p_pubkey *author,
                              const uint8_t *data, size_t len,
                              const uint8_t *sig, size_t sig_len);

#endif
