/* Allocation through lp2p_mem hooks (NULL = libc). */
#ifndef LP2P_BASE_MEM_H
#define LP2P_BASE_MEM_H

#include "lp2p/common.h"

/* Returns `mem`, or the libc allocator when `mem` is NULL. */
const lp2p_mem *lp2p_mem_or_default(const lp2p_mem *mem);

void *lp2p_malloc(const lp2p_mem *mem, size_t size);
void *lp2p_calloc(const lp2p_mem *mem, size_t nmemb, size_t size);
/* Fails (NULL, `ptr` untouched) when nmemb * size overflows. */
void *lp2p_reallocarray(const lp2p_mem *mem, void *ptr, size_t nmemb,
                        size_t size);
void lp2p_free(const lp2p_mem *mem, void *ptr);

/* Gives the whole pages inside [ptr, ptr + size) back to the kernel: they
 * read as zeros and cost no memory until written. Only for a block of
 * libc's malloc whose contents nobody needs (just allocated): a pool
 * that fills from its start then keeps its untouched tail out of the
 * resident set. */
void lp2p__mem_release_pages(void *ptr, size_t size);

#endif
