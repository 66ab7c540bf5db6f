/* The message cache: messages of the last history_length heartbeats,
 * answered to IWANT, of which the last history_gossip are advertised by
 * IHAVE. Windows are arrays of references, newest first. */
#include <string.h>

#include "base/mem.h"
#include "mcache.h"
#include "message.h"
#include "peer.h"
#include "router.h"
#include "topic.h"

int lp2p_gs_mcache_init(lp2p_router *r) {
  size_t n = (size_t)r->s.params.history_length;
  r->windows = lp2p_calloc(r->mem, n, sizeof(*r->windows));
  r->window_len = lp2p_calloc(r->mem, n, sizeof(*r->window_len));
  r->window_cap = lp2p_calloc(r->mem, n, sizeof(*r->window_cap));
  return r->windows && r->window_len && r->window_cap ? 0 : LP2P_ERR_NOMEM;
}

static void drop_window(lp2p_router *r, size_t w) {
  for (size_t i = 0; i < r->window_len[w]; i++) {
    gs_msg *m = r->windows[w][i];
    lp2p_u64map_remove(&r->mcache, m->hash);
    lp2p_free(r->mem, m->iwant_counts);
    m->iwant_counts = NULL;
    m->n_iwant_counts = 0;
    lp2p_gs_msg_unref(r, m);
  }
  r->window_len[w] = 0;
}

void lp2p_gs_mcache_free(lp2p_router *r) {
  if (r->windows && r->window_len && r->window_cap) {
    for (size_t w = 0; w < (size_t)r->s.params.history_length; w++) {
      drop_window(r, w);
      lp2p_free(r->mem, r->windows[w]);
    }
  }
  lp2p_free(r->mem, r->windows);
  lp2p_free(r->mem, r->window_len);
  lp2p_free(r->mem, r->window_cap);
  r->windows = NULL;
  lp2p_u64map_free(&r->mcache);
}

int lp2p_gs_mcache_put(lp2p_router *r, gs_msg *m) {
  if (lp2p_u64map_get(&r->mcache, m->hash)) {
    return 0;
  }
  if (r->window_len[0] == r->window_cap[0]) {
    size_t cap = r->window_cap[0] ? r->window_cap[0] * 2 : 16;
    gs_msg **w = lp2p_reallocarray(r->mem, r->windows[0], cap, sizeof(*w));
    if (!w) {
      return LP2P_ERR_NOMEM;
    }
    r->windows[0] = w;
    r->window_cap[0] = cap;
  }
  int rv = lp2p_u64map_put(&r->mcache, m->hash, m);
  if (rv != 0) {
    return rv;
  }
  r->windows[0][r->window_len[0]++] = lp2p_gs_msg_ref(m);
  return 0;
}

gs_msg *lp2p_gs_mcache_get(const lp2p_router *r, uint64_t id_hash) {
  return lp2p_u64map_get(&r->mcache, id_hash);
}

void lp2p_gs_mcache_shift(lp2p_router *r) {
  size_t n = (size_t)r->s.params.history_length;
  drop_window(r, n - 1);
  /* rotate the arrays so the emptied oldest becomes the newest */
  gs_msg **oldest = r->windows[n - 1];
  size_t cap = r->window_cap[n - 1];
  memmove(r->windows + 1, r->windows, (n - 1) * sizeof(*r->windows));
  memmove(r->window_len + 1, r->window_len, (n - 1) * sizeof(size_t));
  memmove(r->window_cap + 1, r->window_cap, (n - 1) * sizeof(size_t));
  r->windows[0] = oldest;
  r->window_len[0] = 0;
  r->window_cap[0] = cap;
}

size_t lp2p_gs_mcache_gossip_len(const lp2p_router *r) {
  size_t n = 0;
  for (size_t w = 0; w < (size_t)r->s.params.history_gossip; w++) {
    n += r->window_len[w];
  }
  return n;
}

void lp2p_gs_mcache_each_gossip(const lp2p_router *r, const gs_topic *t,
                                void (*fn)(gs_msg *m, void *arg), void *arg) {
  for (size_t w = 0; w < (size_t)r->s.params.history_gossip; w++) {
    for (size_t i = 0; i < r->window_len[w]; i++) {
      gs_msg *m = r->windows[w][i];
      if (m->f.topic.len == t->name_len &&
          memcmp(m->f.topic.data, t->name, t->name_len) == 0) {
        fn(m, arg);
      }
    }
  }
}

uint32_t lp2p_gs_mcache_count_iwant(lp2p_router *r, gs_msg *m,
                                    const gs_peer *p) {
  for (uint32_t i = 0; i < m->n_iwant_counts; i++) {
    if (m->iwant_counts[i].peer_serial == p->serial) {
      return ++m->iwant_counts[i].count;
    }
  }
  gs_iwant_count *c = lp2p_reallocarray(r->mem, m->iwant_counts,
                                        m->n_iwant_counts + 1, sizeof(*c));
  if (!c) {
    /* without memory to count, refuse rather than answer unbounded */
    return UINT32_MAX;
  }
  m->iwant_counts = c;
  c[m->n_iwant_counts].peer_serial = p->serial;
  c[m->n_iwant_counts].count = 1;
  m->n_iwant_counts++;
  return 1;
}
