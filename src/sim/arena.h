/* The simulator's allocator for its routers, events and links: size
 * classes carved from large chunks that ask the kernel for transparent
 * huge pages. Ten thousand routers touch over a gigabyte at random, one
 * event at a time; with 4 KiB pages nearly every access also missed the
 * TLB (glibc's own malloc.hugetlb tunable made a 10,000-node run 70 -> 51
 * s). Freed blocks go back to their class, never to the kernel before the
 * end. */
#ifndef LP2P_SIM_ARENA_H
#define LP2P_SIM_ARENA_H

#include "lp2p/common.h"

#define SIM_ARENA_CLASSES 48

typedef struct sim_arena {
  lp2p_mem mem; /* the hooks, for lp2p_router_new */
  /* where chunks and large blocks come from; NULL: chunks are mapped
   * from the kernel, large blocks from the C library */
  const lp2p_mem *backing;
  struct sim_chunk *chunks;
  uint8_t *bump, *end; /* the unused part of the newest chunk */
  void *free[SIM_ARENA_CLASSES];
} sim_arena;

/* Sets the hooks up, over `backing` (NULL: the kernel and the C
 * library); memory comes on first use. Under AddressSanitizer the hooks
 * are `backing` itself, so that it still sees every block. */
void lp2p__sim_arena_init(sim_arena *a, const lp2p_mem *backing);
/* Returns every chunk to the kernel: blocks still allocated die too. */
void lp2p__sim_arena_release(sim_arena *a);
/* The hooks to give the routers. */
const lp2p_mem *lp2p__sim_arena_mem(const sim_arena *a);

#endif
