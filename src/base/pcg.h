/* PCG32 (O'Neill's permuted congruential generator, XSH RR variant): the
 * per-object random numbers of the core, seeded from the rand callback so
 * that a simulation is reproducible from one seed. Not for keys. */
#ifndef LP2P_BASE_PCG_H
#define LP2P_BASE_PCG_H

#include "lp2p/common.h"

typedef struct lp2p_pcg {
  uint64_t state;
  uint64_t inc;
} lp2p_pcg;

void lp2p_pcg_seed(lp2p_pcg *g, uint64_t state, uint64_t stream);
/* Seeds from 16 bytes of the rand callback. */
void lp2p_pcg_seed_from(lp2p_pcg *g, lp2p_rand_fn rand_fn, void *rand_user);
uint32_t lp2p_pcg_u32(lp2p_pcg *g);
uint64_t lp2p_pcg_u64(lp2p_pcg *g);
/* Uniform in [0, bound) without modulo bias; 0 when bound is 0. */
uint32_t lp2p_pcg_below(lp2p_pcg *g, uint32_t bound);
/* Uniform in [0, 1). */
double lp2p_pcg_double(lp2p_pcg *g);
/* Fisher-Yates shuffle of `n` elements of `size` bytes (size <= 64). */
void lp2p_pcg_shuffle(lp2p_pcg *g, void *base, size_t n, size_t size);

#endif
