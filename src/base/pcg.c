#include "base/pcg.h"

#include <string.h>

#define PCG_MULT UINT64_C(6364136223846793005)

uint32_t lp2p_pcg_u32(lp2p_pcg *g) {
  uint64_t old = g->state;
  g->state = old * PCG_MULT + g->inc;
  uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
  uint32_t rot = (uint32_t)(old >> 59);
  return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

void lp2p_pcg_seed(lp2p_pcg *g, uint64_t state, uint64_t stream) {
  g->state = 0;
  g->inc = (stream << 1) | 1;
  lp2p_pcg_u32(g);
  g->state += state;
  lp2p_pcg_u32(g);
}

void lp2p_pcg_seed_from(lp2p_pcg *g, lp2p_rand_fn rand_fn, void *rand_user) {
  uint8_t b[16];
  uint64_t s, t;
  rand_fn(b, sizeof(b), rand_user);
  memcpy(&s, b, 8);
  memcpy(&t, b + 8, 8);
  lp2p_pcg_seed(g, s, t);
}

uint64_t lp2p_pcg_u64(lp2p_pcg *g) {
  uint64_t hi = lp2p_pcg_u32(g);
  return hi << 32 | lp2p_pcg_u32(g);
}

uint32_t lp2p_pcg_below(lp2p_pcg *g, uint32_t bound) {
  if (bound == 0) {
    return 0;
  }
  /* reject the low values that would make some results more likely */
  uint32_t threshold = (uint32_t)(-bound) % bound;
  for (;;) {
    uint32_t r = lp2p_pcg_u32(g);
    if (r >= threshold) {
      return r % bound;
    }
  }
}

double lp2p_pcg_double(lp2p_pcg *g) {
  return (double)(lp2p_pcg_u64(g) >> 11) * (1.0 / 9007199254740992.0);
}

void lp2p_pcg_shuffle(lp2p_pcg *g, void *base, size_t n, size_t size) {
  uint8_t tmp[64], *a = base;
  if (size > sizeof(tmp)) {
    return;
  }
  for (size_t i = n; i > 1; i--) {
    size_t j = lp2p_pcg_below(g, (uint32_t)i);
    memcpy(tmp, a + (i - 1) * size, size);
    memcpy(a + (i - 1) * size, a + j * size, size);
    memcpy(a + j * size, tmp, size);
  }
}
