#include "sim/sigcache.h"

#include <sodium.h>
#include <string.h>

#include "base/mem.h"

/* Past this many distinct signed messages (far more than a run publishes,
 * even with attackers forging), verdicts are computed without being
 * remembered. */
#define SIGCACHE_MAX (1u << 20)

void lp2p__sim_sigcache_init(sim_sigcache *c, const lp2p_mem *mem) {
  memset(c, 0, sizeof(*c));
  c->mem = mem;
  lp2p_u64map_init(&c->index, mem);
}

void lp2p__sim_sigcache_free(sim_sigcache *c) {
  lp2p_u64map_free(&c->index);
  lp2p_free(c->mem, c->verdicts);
  memset(c, 0, sizeof(*c));
}

static void digest_of(uint8_t out[32], const lp2p_pubkey *author,
                      const uint8_t *data, size_t len, const uint8_t *sig,
                      size_t sig_len) {
  crypto_generichash_state h;
  uint8_t type = (uint8_t)author->type;
  crypto_generichash_init(&h, NULL, 0, 32);
  crypto_generichash_update(&h, &type, 1);
  crypto_generichash_update(&h, author->data, author->len);
  /* the signature's length keeps (sig, data) splits apart */
  uint8_t sl[8];
  for (int i = 0; i < 8; i++) {
    sl[i] = (uint8_t)((uint64_t)sig_len >> (8 * i));
  }
  crypto_generichash_update(&h, sl, sizeof(sl));
  crypto_generichash_update(&h, sig, sig_len);
  crypto_generichash_update(&h, data, len);
  crypto_generichash_final(&h, out, 32);
}

static uint64_t index_key(const uint8_t digest[32]) {
  uint64_t k;
  memcpy(&k, digest, sizeof(k));
  return k ? k : 1; /* 0 marks a free slot */
}

/* Remembers a verdict; without room it is simply not remembered. */
static void remember(sim_sigcache *c, uint64_t key, const uint8_t digest[32],
                     int result) {
  if (c->len == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 1024;
    if (cap > SIGCACHE_MAX) {
      return;
    }
    sim_verdict *v = lp2p_reallocarray(c->mem, c->verdicts, cap, sizeof(*v));
    if (!v) {
      return;
    }
    c->verdicts = v;
    c->cap = cap;
  }
  if (lp2p_u64map_put(&c->index, key, (void *)(uintptr_t)(c->len + 1)) != 0) {
    return;
  }
  memcpy(c->verdicts[c->len].digest, digest, 32);
  c->verdicts[c->len++].result = result;
}

int lp2p__sim_sigcache_verify(sim_sigcache *c, const lp2p_pubkey *author,
                              const uint8_t *data, size_t len,
                              const uint8_t *sig, size_t sig_len) {
  uint8_t digest[32];
  digest_of(digest, author, data, len, sig, sig_len);
  uint64_t key = index_key(digest);
  uintptr_t at = (uintptr_t)lp2p_u64map_get(&c->index, key);
  c->checks++;
  if (at && memcmp(c->verdicts[at - 1].digest, digest, 32) == 0) {
    c->hits++;
    return c->verdicts[at - 1].result;
  }
  int result = lp2p_pubkey_verify(author, data, len, sig, sig_len);
  if (!at) { /* an 8-byte clash with another digest is verified each time */
    remember(c, key, digest, result);
  }
  return result;
}
