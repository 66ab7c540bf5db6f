/* A byte FIFO for stream buffers: a ring that grows on demand and is
 * released when drained, so that idle streams cost no buffer, and that
 * never moves its bytes while it has room (a full stream buffer fed and
 * drained in small steps would otherwise move all of it each time).
 * Callers enforce the bound (a window, a buffer limit) before appending. */
#ifndef LP2P_NET_BYTEQ_H
#define LP2P_NET_BYTEQ_H

#include "lp2p/common.h"

typedef struct lp2p_byteq {
  uint8_t *data;
  size_t head; /* first unread byte */
  size_t len;  /* unread bytes, wrapping around the end of data */
  size_t cap;
} lp2p_byteq;

/* Appends `n` bytes. Returns 0 or LP2P_ERR_NOMEM (the queue is unchanged). */
int lp2p_byteq_append(lp2p_byteq *q, const lp2p_mem *mem, const uint8_t *p,
                      size_t n);
/* Copies up to `cap` bytes out and consumes them; returns how many. */
size_t lp2p_byteq_read(lp2p_byteq *q, const lp2p_mem *mem, uint8_t *out,
                       size_t cap);
/* Consumes `n` <= len bytes. */
void lp2p_byteq_consume(lp2p_byteq *q, const lp2p_mem *mem, size_t n);
void lp2p_byteq_free(lp2p_byteq *q, const lp2p_mem *mem);

#endif
