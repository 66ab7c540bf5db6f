/* A byte FIFO for stream buffers: a ring that grows on demand and is
 * released when drained, so that idle streams cost no buffer, and that
 * never moves its bytes while it has room (a full stream buffer fed and
 * drained in small steps would otherwise move all of it each time).
 * Callers enforce the bound (a window, a buffer limit) before appending.
 *
 * A muxer hands a frame's payload to a reader that usually drains it at
 * once; copying it into a fresh buffer just to copy it out and free it cost
 * the receive path a third of its time (glibc trims the heap top on each
 * free of such a buffer). So an empty queue can borrow the caller's bytes
 * instead (lp2p_byteq_lend) and copies only what is left unread
 * (lp2p_byteq_own) before the lender's buffer goes away. */
#ifndef LP2P_NET_BYTEQ_H
#define LP2P_NET_BYTEQ_H

#include <stdbool.h>

#include "lp2p/budget.h"
#include "lp2p/common.h"

typedef struct lp2p_byteq {
  uint8_t *data;
  size_t head; /* first unread byte */
  size_t len;  /* unread bytes, wrapping around the end of data */
  size_t cap;
  bool lent; /* data is the lender's: read only, never freed */
} lp2p_byteq;

/* Makes the empty queue read `n` bytes in place at `p`. */
void lp2p_byteq_lend(lp2p_byteq *q, const uint8_t *p, size_t n);
/* Copies lent bytes still unread into the queue's own memory; call it
 * before the lender's buffer changes. Returns 0 or LP2P_ERR_NOMEM (the
 * queue is unchanged: the caller must free it before the buffer goes). */
int lp2p_byteq_own(lp2p_byteq *q, const lp2p_mem *mem);
/* Appends `n` bytes (taking lent bytes over first). Returns 0 or LP2P_ERR_NOMEM
 * (the queue is unchanged). */
int lp2p_byteq_append(lp2p_byteq *q, const lp2p_mem *mem, const uint8_t *p,
                      size_t n);
/* Hands the lent bytes out in place and empties the queue; returns how
 * many (0 when the queue is empty or owns its bytes). They are the
 * lender's, valid as long as its buffer. */
size_t lp2p_byteq_take_lent(lp2p_byteq *q, const uint8_t **p);
/* Copies up to `cap` bytes out and consumes them; returns how many. */
size_t lp2p_byteq_read(lp2p_byteq *q, const lp2p_mem *mem, uint8_t *out,
                       size_t cap);
/* Consumes `n` <= len bytes. */
void lp2p_byteq_consume(lp2p_byteq *q, const lp2p_mem *mem, size_t n);
void lp2p_byteq_free(lp2p_byteq *q, const lp2p_mem *mem);

/* Memory accounting (lp2p/budget.h) charges what a queue allocates, not
 * just its unread bytes: a ring grows by doubling and keeps its size until
 * drained. Lent bytes count as the ring that owning them would take. */
size_t lp2p_byteq_footprint(const lp2p_byteq *q);
/* The footprint once `n` more bytes are appended. */
size_t lp2p_byteq_footprint_after(const lp2p_byteq *q, size_t n);
/* The most bytes (up to `n`) an append may take while the footprint grows
 * by no more than `room`. */
size_t lp2p_byteq_fits(const lp2p_byteq *q, size_t n, uint64_t room);
/* Brings `*charged` (bytes reserved in `b`) up to `want`; returns 0 or
 * LP2P_ERR_TOO_LARGE (nothing changes). */
int lp2p_byteq_charge(lp2p_budget *b, uint64_t *charged, uint64_t want);
/* Gives back what `*charged` holds beyond `now`. */
void lp2p_byteq_settle(lp2p_budget *b, uint64_t *charged, uint64_t now);

#endif
