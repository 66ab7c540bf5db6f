/* Trace events (trace.h). An RPC's meta is built from its decoded form:
 * the received one as decoded for handling, a sent or dropped one decoded
 * again from its bytes (only when tracing) into scratch of our own. */
#include "trace.h"

#include <stdint.h>
#include <string.h>

#include "base/mem.h"
#include "message.h"
#include "pb/wire.h"
#include "router.h"

struct gs_trace {
  lp2p_tstamp now; /* the last time the host gave the router */
  lp2p_rpc rpc;    /* RPCs we send or drop, decoded again */
  lp2p_buf wrap;   /* entries wrapped into an RPC */
  lp2p_buf ids;    /* the message ids of an RPC's messages */
  lp2p_trace_msg_meta *msgs;
  lp2p_trace_sub_meta *subs;
  lp2p_trace_ihave_meta *ihave;
  lp2p_trace_ids *iwant, *idontwant;
  lp2p_trace_prune_meta *prune;
  lp2p_bytes *px;
  size_t cap_msgs, cap_subs, cap_ihave, cap_iwant, cap_idontwant, cap_prune,
      cap_px;
};

int lp2p_gs_trace_new(lp2p_router *r) {
  gs_trace *tr = lp2p_calloc(r->mem, 1, sizeof(*tr));
  if (!tr) {
    return LP2P_ERR_NOMEM;
  }
  lp2p_rpc_init(&tr->rpc, r->mem);
  lp2p_buf_init(&tr->wrap, r->mem);
  lp2p_buf_init(&tr->ids, r->mem);
  r->trace = tr;
  return 0;
}

void lp2p_gs_trace_free(lp2p_router *r) {
  gs_trace *tr = r->trace;
  if (!tr) {
    return;
  }
  lp2p_rpc_free(&tr->rpc);
  lp2p_buf_free(&tr->wrap);
  lp2p_buf_free(&tr->ids);
  lp2p_free(r->mem, tr->msgs);
  lp2p_free(r->mem, tr->subs);
  lp2p_free(r->mem, tr->ihave);
  lp2p_free(r->mem, tr->iwant);
  lp2p_free(r->mem, tr->idontwant);
  lp2p_free(r->mem, tr->prune);
  lp2p_free(r->mem, tr->px);
  lp2p_free(r->mem, tr);
  r->trace = NULL;
}

void lp2p_gs_trace_clock(lp2p_router *r, lp2p_tstamp now) {
  if (r->trace) {
    r->trace->now = now;
  }
}

static lp2p_bytes peer_bytes(const lp2p_peer_id *id) {
  return (lp2p_bytes){id->bytes, id->len};
}

/* Stamps `ev` with our id and the router's time and hands it over. */
static void emit(lp2p_router *r, lp2p_trace_event *ev) {
  ev->peer_id = peer_bytes(&r->self);
  ev->timestamp = (int64_t)r->trace->now;
  r->cb.trace(r, ev, r->user);
}

void lp2p_gs_trace_msg(lp2p_router *r, lp2p_trace_type type,
                       const lp2p_bytes *id, const lp2p_bytes *topic,
                       const lp2p_peer_id *from, const char *reason) {
  if (!r->trace) {
    return;
  }
  lp2p_trace_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.type = type;
  lp2p_bytes src = from ? peer_bytes(from) : (lp2p_bytes){NULL, 0};
  switch (type) {
  case LP2P_TRACE_PUBLISH_MESSAGE:
    ev.u.publish.message_id = *id;
    ev.u.publish.topic = *topic;
    break;
  case LP2P_TRACE_REJECT_MESSAGE:
    ev.u.reject.message_id = *id;
    ev.u.reject.topic = *topic;
    ev.u.reject.received_from = src;
    ev.u.reject.reason =
        (lp2p_bytes){(const uint8_t *)reason, reason ? strlen(reason) : 0};
    break;
  case LP2P_TRACE_DUPLICATE_MESSAGE:
    ev.u.duplicate.message_id = *id;
    ev.u.duplicate.topic = *topic;
    ev.u.duplicate.received_from = src;
    break;
  default: /* DELIVER_MESSAGE */
    ev.u.deliver.message_id = *id;
    ev.u.deliver.topic = *topic;
    ev.u.deliver.received_from = src;
    break;
  }
  emit(r, &ev);
}

void lp2p_gs_trace_topic(lp2p_router *r, lp2p_trace_type type,
                         const uint8_t *topic, size_t len) {
  if (!r->trace) {
    return;
  }
  lp2p_trace_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.type = type;
  ev.u.join.topic = (lp2p_bytes){topic, len}; /* join and leave alike */
  emit(r, &ev);
}

void lp2p_gs_trace_peer(lp2p_router *r, lp2p_trace_type type,
                        const lp2p_peer_id *peer, const uint8_t *topic,
                        size_t len) {
  if (!r->trace) {
    return;
  }
  lp2p_trace_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.type = type;
  switch (type) {
  case LP2P_TRACE_ON_NEW_OUTBOUND_STREAM: /* topic: the protocol id */
    ev.u.new_stream.peer = peer_bytes(peer);
    ev.u.new_stream.proto = (lp2p_bytes){topic, len};
    break;
  case LP2P_TRACE_ON_CLOSED_OUTBOUND_STREAM:
    ev.u.closed_stream.peer = peer_bytes(peer);
    break;
  default: /* GRAFT, PRUNE */
    ev.u.graft.peer = peer_bytes(peer);
    ev.u.graft.topic = (lp2p_bytes){topic, len};
    break;
  }
  emit(r, &ev);
}

/* Makes room for `n` items of `size` in *arr. */
static bool room(lp2p_router *r, void *arr, size_t *cap, size_t n,
                 size_t size) {
  void **a = arr;
  if (n <= *cap) {
    return true;
  }
  void *grown = lp2p_reallocarray(r->mem, *a, n, size);
  if (!grown) {
    return false;
  }
  *a = grown;
  *cap = n;
  return true;
}

static bool room_for(lp2p_router *r, gs_trace *tr, const lp2p_rpc *rpc) {
  size_t npx = 0;
  for (size_t i = 0; i < rpc->prune.len; i++) {
    npx += rpc->prune.items[i].npx;
  }
  return room(r, &tr->msgs, &tr->cap_msgs, rpc->msgs.len, sizeof(*tr->msgs)) &&
         room(r, &tr->subs, &tr->cap_subs, rpc->subs.len, sizeof(*tr->subs)) &&
         room(r, &tr->ihave, &tr->cap_ihave, rpc->ihave.len,
              sizeof(*tr->ihave)) &&
         room(r, &tr->iwant, &tr->cap_iwant, rpc->iwant.len,
              sizeof(*tr->iwant)) &&
         room(r, &tr->idontwant, &tr->cap_idontwant, rpc->idontwant.len,
              sizeof(*tr->idontwant)) &&
         room(r, &tr->prune, &tr->cap_prune, rpc->prune.len,
              sizeof(*tr->prune)) &&
         room(r, &tr->px, &tr->cap_px, npx, sizeof(*tr->px));
}

/* MessageMeta: each message's id (as we compute it; empty when it has
 * none) and topic. The ids are gathered first: the buffer may move. */
static bool msg_meta(lp2p_router *r, gs_trace *tr, const lp2p_rpc *rpc) {
  uint8_t id[256];
  size_t cap =
      r->s.limits.max_id_len < sizeof(id) ? r->s.limits.max_id_len : sizeof(id);
  lp2p_buf_truncate(&tr->ids, 0);
  for (size_t i = 0; i < rpc->msgs.len; i++) {
    int n = lp2p_gs_msg_compute_id(r, &rpc->msgs.items[i], id, cap);
    size_t len = n > 0 ? (size_t)n : 0;
    if (lp2p_buf_append(&tr->ids, id, len) != 0) {
      return false;
    }
    tr->msgs[i].message_id.len = len;
    tr->msgs[i].topic = rpc->msgs.items[i].topic;
  }
  size_t off = 0;
  for (size_t i = 0; i < rpc->msgs.len; i++) {
    tr->msgs[i].message_id.data = tr->ids.data + off;
    off += tr->msgs[i].message_id.len;
  }
  return true;
}

static lp2p_trace_ids ids_of(const lp2p_rpc *rpc, const lp2p_rpc_ids *e) {
  return (lp2p_trace_ids){rpc->ids.items + e->first, e->count};
}

static void control_meta(gs_trace *tr, const lp2p_rpc *rpc,
                         lp2p_trace_rpc_meta *m) {
  for (size_t i = 0; i < rpc->ihave.len; i++) {
    tr->ihave[i].topic = rpc->ihave.items[i].topic;
    tr->ihave[i].message_ids = ids_of(rpc, &rpc->ihave.items[i]);
  }
  for (size_t i = 0; i < rpc->iwant.len; i++) {
    tr->iwant[i] = ids_of(rpc, &rpc->iwant.items[i]);
  }
  for (size_t i = 0; i < rpc->idontwant.len; i++) {
    tr->idontwant[i] = ids_of(rpc, &rpc->idontwant.items[i]);
  }
  size_t npx = 0;
  for (size_t i = 0; i < rpc->prune.len; i++) {
    const lp2p_rpc_prune *p = &rpc->prune.items[i];
    tr->prune[i].topic = p->topic;
    tr->prune[i].peers = (lp2p_trace_ids){tr->px + npx, p->npx};
    for (size_t j = 0; j < p->npx; j++) {
      tr->px[npx++] = rpc->px.items[p->first_px + j].peer_id;
    }
  }
  m->ihave = tr->ihave;
  m->n_ihave = rpc->ihave.len;
  m->iwant = tr->iwant;
  m->n_iwant = rpc->iwant.len;
  m->graft = rpc->graft.items;
  m->n_graft = rpc->graft.len;
  m->prune = tr->prune;
  m->n_prune = rpc->prune.len;
  m->idontwant = tr->idontwant;
  m->n_idontwant = rpc->idontwant.len;
  /* the decoder keeps no flag for an empty ControlMessage */
  m->has_control = m->n_ihave || m->n_iwant || m->n_graft || m->n_prune ||
                   m->n_idontwant || rpc->has_extensions;
}

/* An RPC event; `duration` is SEND_RPC_COMPLETED's write duration. */
static void trace_rpc(lp2p_router *r, lp2p_trace_type type,
                      const lp2p_peer_id *peer, const lp2p_rpc *rpc,
                      lp2p_tstamp duration) {
  gs_trace *tr = r->trace;
  if (!tr) {
    return;
  }
  if (!room_for(r, tr, rpc) || !msg_meta(r, tr, rpc)) {
    r->st.trace_events_lost++; /* out of memory: the event, never the RPC */
    return;
  }
  lp2p_trace_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.type = type;
  if (type == LP2P_TRACE_SEND_RPC_COMPLETED) {
    ev.u.send_rpc_completed.write_duration_ns = (int64_t)duration;
  }
  lp2p_trace_rpc_meta *m = &ev.u.recv_rpc.meta;
  ev.u.recv_rpc.received_from = peer_bytes(peer); /* send_to alike */
  for (size_t i = 0; i < rpc->subs.len; i++) {
    tr->subs[i].subscribe = rpc->subs.items[i].subscribe;
    tr->subs[i].topic = rpc->subs.items[i].topic;
  }
  m->messages = tr->msgs;
  m->n_messages = rpc->msgs.len;
  m->subscriptions = tr->subs;
  m->n_subscriptions = rpc->subs.len;
  control_meta(tr, rpc, m);
  emit(r, &ev);
}

void lp2p_gs_trace_rpc(lp2p_router *r, lp2p_trace_type type,
                       const lp2p_peer_id *peer, const lp2p_rpc *rpc) {
  trace_rpc(r, type, peer, rpc, 0);
}

/* Decodes a bare RPC for its meta (no limit: we made it, or the peer's
 * RPC passed ours already). */
static bool decode_rpc(gs_trace *tr, const uint8_t *data, size_t len) {
  lp2p_rpc_limits unbounded = {SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX,
                               SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX};
  return lp2p_rpc_decode(&tr->rpc, data, len, &unbounded) == 0;
}

void lp2p_router_trace_written(lp2p_router *r, const lp2p_peer_id *peer,
                               const uint8_t *framed, size_t len,
                               lp2p_tstamp write_duration, lp2p_tstamp now) {
  if (!r->trace) {
    return;
  }
  lp2p_gs_trace_clock(r, now);
  const uint8_t *pos = framed, *end = framed + len;
  uint64_t body;
  if (lp2p_pb_read_varint(&pos, end, &body) != 0 ||
      body != (uint64_t)(end - pos)) {
    return; /* not one framed RPC as a pull gives: nothing to trace */
  }
  if (!decode_rpc(r->trace, pos, (size_t)body)) {
    r->st.trace_events_lost++;
    return;
  }
  trace_rpc(r, LP2P_TRACE_SEND_RPC_COMPLETED, peer, &r->trace->rpc,
            write_duration);
}

void lp2p_gs_trace_rpc_bytes(lp2p_router *r, lp2p_trace_type type,
                             const lp2p_peer_id *peer, uint32_t field,
                             const uint8_t *data, size_t len) {
  gs_trace *tr = r->trace;
  if (!tr) {
    return;
  }
  if (field) { /* a Message or ControlMessage entries: wrap into an RPC */
    lp2p_buf_truncate(&tr->wrap, 0);
    int rv = field == LP2P_RPC_PUBLISH
                 ? lp2p_rpc_put_publish(&tr->wrap, data, len)
                 : lp2p_rpc_put_control(&tr->wrap, data, len);
    if (rv != 0) {
      r->st.trace_events_lost++;
      return;
    }
    data = tr->wrap.data;
    len = tr->wrap.len;
  }
  if (decode_rpc(tr, data, len)) {
    lp2p_gs_trace_rpc(r, type, peer, &tr->rpc);
  } else {
    r->st.trace_events_lost++;
  }
}
