/* Batch publishing: many messages of ours at once, each validated,
 * signed and ided as one publish, whose copies share the uplink rarest
 * first. The uplink is a publisher's bottleneck: a batch of N messages
 * for D peers is N x D copies, and the network can relay a message as
 * soon as one copy is out. So every pull for a peer takes, of the batch
 * messages queued for it, the one with the fewest copies pulled so far
 * for any peer: all first copies leave before any second copy, and a
 * peer that pulls faster than the others does not run ahead with its own
 * order. go's batch (MessageBatch with its RarestFirstStrategy) fixes the
 * order when it queues, in rounds of one copy of each message, and each
 * peer then sends its own queue first in first out: peers that take their
 * copies at different times send second copies while other messages
 * still have none (LP2P_BATCH_ROUND_ROBIN keeps that order, to compare).
 *
 * A batch message carries its copy count (gs_msg.batch_copies, counted
 * by queue.c when pulled) and its place in batch order (batch_seq). In a
 * peer's queue the messages of batches stay where they were queued
 * among other messages (first in first out around them); a run of
 * batch messages at the head is reordered at each pull. */
#include <string.h>

#include "base/mem.h"
#include "batch.h"
#include "router.h"
#include "trace.h"

/* Does `a` go before `b`: fewer copies, or as many and earlier? */
static bool rarer(const gs_msg *a, const gs_msg *b) {
  return a->batch_copies != b->batch_copies ? a->batch_copies < b->batch_copies
                                            : a->batch_seq < b->batch_seq;
}

void lp2p_gs_batch_rarest_first(const lp2p_router *r, gs_queue *q) {
  size_t best = 0, run = q->len;
  if (q->msgs[q->head]->batch_in_order) {
    return;
  }
  if (run > r->s.limits.max_batch) {
    run = r->s.limits.max_batch; /* bounds the scan of each pull */
  }
  for (size_t i = 1; i < run; i++) {
    const gs_msg *m = q->msgs[(q->head + i) % q->cap];
    if (!m->batch_seq || m->batch_in_order) {
      break; /* the end of the run: what follows waits its turn */
    }
    if (rarer(m, q->msgs[(q->head + best) % q->cap])) {
      best = i;
    }
  }
  if (best) {
    gs_msg **head = &q->msgs[q->head],
           **pick = &q->msgs[(q->head + best) % q->cap];
    gs_msg *m = *head;
    *head = *pick;
    *pick = m;
  }
}

/* An id met earlier in the batch: the second would be a duplicate. */
static bool repeated(const gs_publication *pubs, size_t i) {
  for (size_t j = 0; j < i; j++) {
    if (pubs[j].m && pubs[j].m->hash == pubs[i].m->hash) {
      return true;
    }
  }
  return false;
}

/* Prepares every message; a message that cannot be published gets its
 * error in results[i] and no publication (m NULL). */
static void prepare_all(lp2p_router *r, const lp2p_batch_msg *msgs,
                        gs_publication *pubs, size_t n, int *results,
                        lp2p_tstamp now) {
  for (size_t i = 0; i < n; i++) {
    const lp2p_batch_msg *b = &msgs[i];
    results[i] = lp2p_gs_publish_prepare(r, b->topic, b->topic_len, b->data,
                                         b->len, n, &pubs[i], now);
    if (results[i] == 0 && repeated(pubs, i)) {
      results[i] = LP2P_ERR_STATE;
      lp2p_gs_peers_free(r, &pubs[i].to);
      lp2p_gs_msg_unref(r, pubs[i].m);
      pubs[i].m = NULL;
    }
  }
}

/* Rarest first: each message queued to all its targets, marked as a
 * batch message in batch order; pulls then choose. */
static void queue_rarest_first(lp2p_router *r, gs_publication *pubs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (pubs[i].m) {
      pubs[i].m->batch_seq = ++r->batch_seq;
      lp2p_gs_publish_queue(r, &pubs[i]);
    }
  }
}

/* As go's batch: round k queues each message to its k-th target, the
 * targets of each message in a random order (go ranges over a map);
 * each queue then sends in that order, one message per RPC as go's
 * batch makes one RPC per copy. */
static void queue_round_robin(lp2p_router *r, gs_publication *pubs, size_t n) {
  size_t rounds = 0;
  for (size_t i = 0; i < n; i++) {
    if (pubs[i].m) {
      pubs[i].m->batch_seq = ++r->batch_seq;
      pubs[i].m->batch_in_order = true;
      lp2p_gs_publish_announce(r, &pubs[i]);
      lp2p_gs_peers_shuffle(r, &pubs[i].to);
      rounds = pubs[i].to.len > rounds ? pubs[i].to.len : rounds;
    }
  }
  for (size_t k = 0; k < rounds; k++) {
    for (size_t i = 0; i < n; i++) {
      gs_publication *p = &pubs[i];
      if (p->m && k < p->to.len) {
        p->queued += lp2p_gs_queue_msg(r, p->to.items[k], p->m) == 0;
      }
    }
  }
}

/* Frees each topic of the batch once, when nothing keeps it. */
static void release_topics(lp2p_router *r, gs_publication *pubs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    bool seen_before = !pubs[i].t;
    for (size_t j = 0; j < i && !seen_before; j++) {
      seen_before = pubs[j].t == pubs[i].t;
    }
    if (!seen_before) {
      lp2p_gs_topic_maybe_free(r, pubs[i].t);
    }
  }
}

static int check_batch(const lp2p_router *r, const lp2p_batch_msg *msgs,
                       size_t n, lp2p_batch_order order, const int *results) {
  if (!msgs || !results || n == 0 ||
      (order != LP2P_BATCH_RAREST_FIRST && order != LP2P_BATCH_ROUND_ROBIN)) {
    return LP2P_ERR_INVALID_ARG;
  }
  return n > r->s.limits.max_batch ? LP2P_ERR_TOO_LARGE : 0;
}

int lp2p_router_publish_batch(lp2p_router *r, const lp2p_batch_msg *msgs,
                              size_t n, lp2p_batch_order order, int *results,
                              lp2p_tstamp now) {
  int rv = check_batch(r, msgs, n, order, results);
  if (rv != 0) {
    r->st.batches_refused += rv == LP2P_ERR_TOO_LARGE;
    return rv;
  }
  gs_publication *pubs = lp2p_calloc(r->mem, n, sizeof(*pubs));
  if (!pubs) {
    return LP2P_ERR_NOMEM;
  }
  lp2p_gs_trace_clock(r, now);
  prepare_all(r, msgs, pubs, n, results, now);
  (order == LP2P_BATCH_RAREST_FIRST ? queue_rarest_first
                                    : queue_round_robin)(r, pubs, n);
  int published = 0;
  for (size_t i = 0; i < n; i++) {
    if (pubs[i].m) {
      results[i] =
          lp2p_gs_publish_finish(r, &pubs[i], msgs[i].id, msgs[i].id_len, now);
      published += results[i] > 0;
    }
  }
  release_topics(r, pubs, n);
  lp2p_free(r->mem, pubs);
  r->st.batches_published += published > 0;
  return published;
}
