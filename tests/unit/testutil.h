/* Helpers for the unit tests: a failing allocator and hex. */
#ifndef LP2P_TESTUTIL_H
#define LP2P_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lp2p/lp2p.h"

/* An allocator that fails its Nth allocation (1-based; 0 = never) and
 * counts live blocks, to prove that constructors report LP2P_ERR_NOMEM and
 * leak nothing whichever allocation fails. */
typedef struct failmem {
  lp2p_mem mem;
  long fail_at;
  long count; /* allocations attempted */
  long live;  /* blocks allocated and not yet freed */
  int failed; /* whether the failure was injected */
  /* fail every allocation from fail_at on, not only that one: cleanup
   * and retry paths then meet a heap that stays exhausted */
  int sticky;
} failmem;

void failmem_init(failmem *f, long fail_at);

/* Runs `fn` with allocation 1, 2, 3, ... failing until a run completes
 * without reaching the failing allocation. Each run with an injected
 * failure must return LP2P_ERR_NOMEM, the clean run must return 0, and
 * every run must leave no live block. `fn` builds and frees its objects. */
void failmem_sweep(int (*fn)(const lp2p_mem *mem, void *arg), void *arg);
/* Like failmem_sweep, for operations that may absorb an allocation
 * failure (a dropped copy, a missed gossip): each run may return 0 or
 * LP2P_ERR_NOMEM, and must leak nothing. */
void failmem_sweep_lenient(int (*fn)(const lp2p_mem *mem, void *arg),
                           void *arg);

/* Decodes hex into a new test-owned static buffer; returns its length. */
size_t unhex(const char *hex, uint8_t *out, size_t cap);
/* Lower-case hex of `len` bytes into `out` (2 * len + 1 bytes). */
void tohex(const uint8_t *in, size_t len, char *out);
/* A deterministic lp2p_rand_fn: bytes from a counter in `user`
 * (uint64_t *), or from 0 when `user` is NULL. */
void test_rand(uint8_t *dest, size_t len, void *user);
/* 127.0.0.1:port as a sockaddr_in (zeroed first), for in-memory QUIC. */
struct sockaddr_in;
void test_loopback4(struct sockaddr_in *a, uint16_t port);

#endif
