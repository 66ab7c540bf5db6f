#include "net/byteq.h"

#include <string.h>

#include "base/mem.h"

/* Copies `n` unread bytes from offset `at` of the ring into `out`. */
static void copy_out(const lp2p_byteq *q, size_t at, uint8_t *out, size_t n) {
  size_t first = q->cap - at < n ? q->cap - at : n;
  memcpy(out, q->data + at, first);
  memcpy(out + first, q->data, n - first);
}

/* The ring size that holds `need` bytes, doubling from `cap`. */
static size_t grown_cap(size_t cap, size_t need) {
  cap = cap ? cap : 256;
  while (cap < need) {
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  }
  return cap;
}

/* Grows the ring to hold `need` bytes, unwrapping the unread ones. */
static int grow(lp2p_byteq *q, const lp2p_mem *mem, size_t need) {
  size_t cap = grown_cap(q->cap, need);
  uint8_t *data = lp2p_malloc(mem, cap);
  if (!data) {
    return LP2P_ERR_NOMEM;
  }
  if (q->len) {
    copy_out(q, q->head, data, q->len);
  }
  lp2p_free(mem, q->data);
  q->data = data;
  q->head = 0;
  q->cap = cap;
  return 0;
}

void lp2p_byteq_lend(lp2p_byteq *q, const uint8_t *p, size_t n) {
  if (n == 0) {
    return;
  }
  q->data = (uint8_t *)p; /* never written while lent */
  q->head = 0;
  q->len = n;
  q->cap = n;
  q->lent = true;
}

int lp2p_byteq_own(lp2p_byteq *q, const lp2p_mem *mem) {
  if (!q->lent) {
    return 0;
  }
  lp2p_byteq owned = {0};
  int rv = lp2p_byteq_append(&owned, mem, q->data + q->head, q->len);
  if (rv == 0) {
    *q = owned;
  }
  return rv;
}

int lp2p_byteq_append(lp2p_byteq *q, const lp2p_mem *mem, const uint8_t *p,
                      size_t n) {
  if (n == 0) {
    return 0;
  }
  if (q->lent) {
    int rv = lp2p_byteq_own(q, mem);
    if (rv != 0) {
      return rv;
    }
  }
  if (n > SIZE_MAX - q->len) {
    return LP2P_ERR_NOMEM;
  }
  if (q->len + n > q->cap) {
    int rv = grow(q, mem, q->len + n);
    if (rv != 0) {
      return rv;
    }
  }
  size_t tail = (q->head + q->len) % q->cap;
  size_t first = q->cap - tail < n ? q->cap - tail : n;
  memcpy(q->data + tail, p, first);
  memcpy(q->data, p + first, n - first);
  q->len += n;
  return 0;
}

void lp2p_byteq_consume(lp2p_byteq *q, const lp2p_mem *mem, size_t n) {
  q->head = (q->head + n) % (q->cap ? q->cap : 1);
  q->len -= n;
  if (q->len == 0) {
    lp2p_byteq_free(q, mem);
  }
}

size_t lp2p_byteq_take_lent(lp2p_byteq *q, const uint8_t **p) {
  if (!q->lent || q->len == 0) {
    return 0;
  }
  size_t n = q->len;
  *p = q->data + q->head;
  *q = (lp2p_byteq){0};
  return n;
}

size_t lp2p_byteq_read(lp2p_byteq *q, const lp2p_mem *mem, uint8_t *out,
                       size_t cap) {
  size_t n = cap < q->len ? cap : q->len;
  if (n) {
    copy_out(q, q->head, out, n);
    lp2p_byteq_consume(q, mem, n);
  }
  return n;
}

void lp2p_byteq_free(lp2p_byteq *q, const lp2p_mem *mem) {
  if (!q->lent) {
    lp2p_free(mem, q->data);
  }
  memset(q, 0, sizeof(*q));
}

size_t lp2p_byteq_footprint(const lp2p_byteq *q) {
  if (q->len == 0) {
    return 0; /* drained rings are freed */
  }
  return q->lent ? grown_cap(0, q->len) : q->cap;
}

size_t lp2p_byteq_footprint_after(const lp2p_byteq *q, size_t n) {
  if (n == 0) {
    return lp2p_byteq_footprint(q);
  }
  if (n > SIZE_MAX - q->len) {
    return SIZE_MAX;
  }
  if (q->lent || q->len == 0) {
    return grown_cap(0, q->len + n);
  }
  return q->len + n <= q->cap ? q->cap : grown_cap(q->cap, q->len + n);
}

size_t lp2p_byteq_fits(const lp2p_byteq *q, size_t n, uint64_t room) {
  size_t now = lp2p_byteq_footprint(q);
  while (n > 0) {
    size_t after = lp2p_byteq_footprint_after(q, n);
    if (after - now <= room) {
      return n;
    }
    /* the next smaller ring, or none at all */
    size_t smaller = after / 2;
    n = smaller > q->len && smaller >= now && smaller >= 256
            ? (smaller - q->len < n ? smaller - q->len : n - 1)
            : 0;
  }
  return 0;
}

int lp2p_byteq_charge(lp2p_budget *b, uint64_t *charged, uint64_t want) {
  if (want <= *charged) {
    return 0;
  }
  int rv = lp2p_budget_reserve(b, want - *charged);
  if (rv == 0) {
    *charged = want;
  }
  return rv;
}

void lp2p_byteq_settle(lp2p_budget *b, uint64_t *charged, uint64_t now) {
  if (*charged > now) {
    lp2p_budget_release(b, *charged - now);
    *charged = now;
  }
}
