#include "net/byteq.h"

#include <string.h>

#include "base/mem.h"

/* Makes room for `n` more bytes after the unread ones: slides them to the
 * front when that is enough, else grows geometrically. */
static int reserve(lp2p_byteq *q, const lp2p_mem *mem, size_t n) {
  if (n > SIZE_MAX - q->len) {
    return LP2P_ERR_NOMEM;
  }
  size_t need = q->len + n;
  if (q->head + need <= q->cap) {
    return 0;
  }
  if (need <= q->cap) {
    memmove(q->data, q->data + q->head, q->len);
    q->head = 0;
    return 0;
  }
  size_t cap = q->cap ? q->cap : 256;
  while (cap < need) {
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  }
  uint8_t *data = lp2p_malloc(mem, cap);
  if (!data) {
    return LP2P_ERR_NOMEM;
  }
  if (q->len) {
    memcpy(data, q->data + q->head, q->len);
  }
  lp2p_free(mem, q->data);
  q->data = data;
  q->head = 0;
  q->cap = cap;
  return 0;
}

int lp2p_byteq_append(lp2p_byteq *q, const lp2p_mem *mem, const uint8_t *p,
                      size_t n) {
  if (n == 0) {
    return 0;
  }
  int rv = reserve(q, mem, n);
  if (rv != 0) {
    return rv;
  }
  memcpy(q->data + q->head + q->len, p, n);
  q->len += n;
  return 0;
}

const uint8_t *lp2p_byteq_peek(const lp2p_byteq *q) {
  return q->data ? q->data + q->head : NULL;
}

void lp2p_byteq_consume(lp2p_byteq *q, const lp2p_mem *mem, size_t n) {
  q->head += n;
  q->len -= n;
  if (q->len == 0) {
    lp2p_byteq_free(q, mem);
  }
}

size_t lp2p_byteq_read(lp2p_byteq *q, const lp2p_mem *mem, uint8_t *out,
                       size_t cap) {
  size_t n = cap < q->len ? cap : q->len;
  if (n) {
    memcpy(out, q->data + q->head, n);
    lp2p_byteq_consume(q, mem, n);
  }
  return n;
}

void lp2p_byteq_free(lp2p_byteq *q, const lp2p_mem *mem) {
  lp2p_free(mem, q->data);
  memset(q, 0, sizeof(*q));
}
