/* Messages (message.c): reference-counted encoded messages, shared by
 * the mcache, pending validations and peer queues; ours built and signed
 * here, ids computed and hashed. */
#ifndef LP2P_GOSSIPSUB_MESSAGE_H
#define LP2P_GOSSIPSUB_MESSAGE_H

#include "lp2p/gossipsub.h"
#include "pb/rpc.h"

/* A message, reference counted and shared by the mcache, the pending
 * validations and every peer queue that sends it. One allocation: the
 * header, then the id, then the encoded Message as received (or as we
 * built it), unless the router's message store holds the encoded Message
 * (body_shared). */
typedef struct gs_msg {
  uint32_t refs;
  uint16_t id_len;
  /* a batch message of LP2P_BATCH_ROUND_ROBIN: pulled where it was
   * queued, never moved ahead (batch.c) */
  bool batch_in_order;
  /* f.raw is the store's copy, released with the message (msg_store) */
  bool body_shared;
  uint64_t hash;         /* lp2p_gs_id_hash of the id: its key in the mcache */
  uint32_t publish_size; /* bytes of its RPC.publish field */
  /* peer queue entries that hold it: while any does, its body is charged
   * to the router's budget (settings.budget), once (queue.c) */
  uint32_t queues;
  /* a message of a batch of ours (batch.c): its copies pulled so far,
   * over all peers, and its place in the order of batches (0: none) */
  uint32_t batch_copies;
  uint64_t batch_seq;
  /* IWANT answers per peer while in the mcache (GossipRetransmission) */
  struct gs_iwant_count *iwant_counts;
  uint32_t n_iwant_counts;
  lp2p_rpc_msg f;  /* views into the encoded Message */
  uint8_t bytes[]; /* the id, then the encoded Message unless shared */
} gs_msg;

/* Where a router may keep the encoded Messages it holds, instead of a
 * copy each: a simulator of thousands of routers in one process holds
 * one copy of each distinct message for all of them. `intern` returns
 * bytes equal to body[0..len) that stay valid and unchanged until the
 * matching `release`, or NULL (the router then keeps its own copy). */
typedef struct lp2p__msg_store {
  const uint8_t *(*intern)(void *user, const uint8_t *body, size_t len);
  void (*release)(void *user, const uint8_t *body, size_t len);
  void *user;
} lp2p__msg_store;

/* Makes the router keep the bodies of the messages it takes from now on
 * in `store` (NULL: its own copies). The store must outlive the router's
 * messages, that is the router. */
void lp2p__router_set_msg_store(lp2p_router *r, const lp2p__msg_store *store);

typedef struct gs_iwant_count {
  uint32_t peer_serial;
  uint32_t count;
} gs_iwant_count;

const uint8_t *lp2p_gs_msg_id(const gs_msg *m);
/* Copies an encoded Message (and its views) and its id into a new msg
 * with one reference. Returns NULL when out of memory. */
gs_msg *lp2p_gs_msg_new(lp2p_router *r, const lp2p_rpc_msg *f,
                        const uint8_t *id, size_t id_len);
/* The keyed hash by which message ids are looked up (see id_key). */
uint64_t lp2p_gs_id_hash(const lp2p_router *r, const uint8_t *id, size_t len);
gs_msg *lp2p_gs_msg_ref(gs_msg *m);
void lp2p_gs_msg_unref(lp2p_router *r, gs_msg *m);

/* Builds, signs and ids a message of ours. */
gs_msg *lp2p_gs_msg_build(lp2p_router *r, const uint8_t *topic,
                          size_t topic_len, const uint8_t *data, size_t len,
                          int *err);
/* Checks the signing policy and the signature. Returns 0 or the error
 * that rejects the message. */
int lp2p_gs_msg_check_signature(lp2p_router *r, const lp2p_rpc_msg *m);
/* Computes the id; returns its length or a negative error. */
int lp2p_gs_msg_compute_id(lp2p_router *r, const lp2p_rpc_msg *m, uint8_t *out,
                           size_t cap);
void lp2p_gs_msg_view(const gs_msg *m, const lp2p_peer_id *from,
                      lp2p_message *out);

#endif
