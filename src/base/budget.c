/* Memory budgets: see include/lp2p/budget.h. */
#include "lp2p/budget.h"

#include <string.h>

void lp2p_budget_init(lp2p_budget *b, lp2p_budget *parent, uint64_t limit) {
  memset(b, 0, sizeof(*b));
  b->parent = parent;
  b->limit = limit;
}

static uint64_t scope_room(const lp2p_budget *b) {
  return b->used < b->limit ? b->limit - b->used : 0;
}

/* The nearest scope from `b` up that cannot take `n` more bytes. */
static lp2p_budget *full_scope(lp2p_budget *b, uint64_t n) {
  for (; b; b = b->parent) {
    if (n > scope_room(b)) {
      return b;
    }
  }
  return NULL;
}

int lp2p_budget_reserve(lp2p_budget *b, uint64_t n) {
  if (!b) {
    return 0;
  }
  lp2p_budget *full = full_scope(b, n);
  if (full) {
    full->refused++;
    full->waited = true;
    for (lp2p_budget *s = b; s; s = s->parent) {
      s->refused_below++;
    }
    return LP2P_ERR_TOO_LARGE;
  }
  for (; b; b = b->parent) {
    b->used += n;
  }
  return 0;
}

void lp2p_budget_release(lp2p_budget *b, uint64_t n) {
  for (; b; b = b->parent) {
    /* never below zero: a caller's accounting bug must not wrap around and
     * open the scope wide */
    b->used = n < b->used ? b->used - n : 0;
    if (b->waited && b->on_room) {
      b->waited = false;
      b->on_room(b, b->on_room_user);
    }
  }
}

void lp2p_budget_wait(lp2p_budget *b) {
  lp2p_budget *least = b;
  for (; b; b = b->parent) {
    if (scope_room(b) < scope_room(least)) {
      least = b;
    }
  }
  if (least) {
    least->waited = true;
  }
}

uint64_t lp2p_budget_room(const lp2p_budget *b) {
  uint64_t room = UINT64_MAX;
  for (; b; b = b->parent) {
    uint64_t r = scope_room(b);
    room = r < room ? r : room;
  }
  return room;
}
