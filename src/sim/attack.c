/* Attackers in the simulator: routers like the others whose outgoing
 * RPCs are rewritten, and who make moves of their own every
 * attack_interval. Each attack is one the score function of gossipsub
 * v1.1 is meant to push out. */
#include <string.h>

#include "net/pubsub_stream.h"
#include "pb/rpc.h"
#include "pb/wire.h"
#include "sim/sim_internal.h"

bool lp2p__sim_attacking(const sim *s) {
  return s->now >= s->c->attack_start && s->now >= s->c->attack_join;
}

size_t lp2p__sim_msg_id(const sim *s, const lp2p_rpc_msg *m, uint8_t *out,
                        size_t cap) {
  if (!s->c->sign) { /* the id is the message index, as on_msg_id */
    if (m->data.len < 8 || cap < 8) {
      return 0;
    }
    memcpy(out, m->data.data, 8);
    return 8;
  }
  if (m->from.len + m->seqno.len > cap) {
    return 0;
  }
  memcpy(out, m->from.data, m->from.len);
  memcpy(out + m->from.len, m->seqno.data, m->seqno.len);
  return m->from.len + m->seqno.len;
}

/* FNV-1a of (node, id), never 0 (the empty slot). */
static uint64_t iwanted_key(uint32_t node, const uint8_t *id, size_t len) {
  uint64_t h = UINT64_C(0xcbf29ce484222325);
  for (int i = 0; i < 4; i++) {
    h = (h ^ ((node >> (8 * i)) & 0xff)) * UINT64_C(0x100000001b3);
  }
  for (size_t i = 0; i < len; i++) {
    h = (h ^ id[i]) * UINT64_C(0x100000001b3);
  }
  return h | 1;
}

static sim_iwanted *iwanted_slot(sim_node *n, uint64_t key) {
  return &n->atk->iwanted[key % SIM_IWANTED];
}

/* drop-serve: whether node `to` asked for the message (an RPC.publish
 * field) by IWANT. */
static bool was_asked(sim *s, sim_node *n, uint32_t to, const uint8_t *msg,
                      size_t len) {
  lp2p_rpc_msg m;
  uint8_t id[128];
  size_t idlen;
  if (lp2p_rpc_decode_message(msg, len, &m) != 0 ||
      (idlen = lp2p__sim_msg_id(s, &m, id, sizeof(id))) == 0) {
    return false;
  }
  uint64_t key = iwanted_key(to, id, idlen);
  return iwanted_slot(n, key)->key == key;
}

/* Drops the RPC.publish fields of a framed RPC that `keep` does not
 * keep (drop: forward nothing; ihave-spam: never answer an IWANT;
 * drop-serve: answer IWANTs only). Returns the new length. */
static size_t strip_messages(sim *s, sim_node *n, uint32_t to, uint8_t *rpc,
                             size_t len) {
  const uint8_t *body;
  size_t body_len;
  lp2p_pb_reader rd;
  lp2p_pb_field f;
  bool serve = s->c->attack == LP2P_ATTACK_DROP_SERVE;
  if (lp2p__pubsub_unframe(rpc, len, &body, &body_len) != 0) {
    return 0;
  }
  /* keep the other fields, moved into place after the old frame header;
   * the kept bytes never overtake the ones still to read */
  size_t h = (size_t)(body - rpc), kept = 0;
  lp2p_pb_reader_init(&rd, body, body_len);
  const uint8_t *start = rd.pos;
  while (lp2p_pb_next(&rd, &f) == 1) {
    size_t flen = (size_t)(rd.pos - start);
    if (f.num != LP2P_RPC_PUBLISH ||
        (serve && was_asked(s, n, to, f.data, f.len))) {
      memmove(rpc + h + kept, start, flen);
      kept += flen;
    }
    start = rd.pos;
  }
  if (kept == 0) {
    return 0;
  }
  uint8_t prefix[LP2P_UVARINT_MAX_LEN];
  size_t k = lp2p__pubsub_frame_header(kept, prefix);
  memmove(rpc + k, rpc + h, kept);
  memcpy(rpc, prefix, k);
  return k + kept;
}

/* Flips a byte of every message signature (invalid). */
static size_t corrupt_signatures(uint8_t *rpc, size_t len) {
  const uint8_t *body;
  size_t body_len;
  lp2p_pb_reader rd;
  lp2p_pb_field f;
  if (lp2p__pubsub_unframe(rpc, len, &body, &body_len) != 0) {
    return len;
  }
  lp2p_pb_reader_init(&rd, body, body_len);
  while (lp2p_pb_next(&rd, &f) == 1) {
    lp2p_rpc_msg m;
    if (f.num == LP2P_RPC_PUBLISH &&
        lp2p_rpc_decode_message(f.data, f.len, &m) == 0 && m.signature.len) {
      ((uint8_t *)m.signature.data)[0] ^= 0x80;
    }
  }
  return len;
}

size_t lp2p__sim_attack_filter(sim *s, sim_node *n, uint32_t link, uint8_t *rpc,
                               size_t len) {
  if (!lp2p__sim_attacking(s)) {
    return len;
  }
  switch (s->c->attack) {
  case LP2P_ATTACK_INVALID:
    return corrupt_signatures(rpc, len);
  case LP2P_ATTACK_DROP:
  case LP2P_ATTACK_IHAVE_SPAM:
  case LP2P_ATTACK_DROP_SERVE:
  case LP2P_ATTACK_IHAVE_WITHHOLD:
    return strip_messages(s, n, n->links[link].node, rpc, len);
  default:
    return len;
  }
}

/* Sends one RPC body to every peer of `n`. */
static void broadcast(sim *s, sim_node *n, const lp2p_buf *body) {
  lp2p_buf rpc;
  lp2p_buf_init(&rpc, s->mem);
  if (lp2p__pubsub_frame(&rpc, body->data, body->len) == 0) {
    for (uint32_t i = 0; i < n->nlinks; i++) {
      lp2p__sim_send_rpc(s, n, i, rpc.data, rpc.len, s->now);
    }
  }
  lp2p_buf_free(&rpc);
}

/* A message of the attacker's own with a signature that does not verify
 * (and that StrictNoSign refuses too, as it has one). */
static void invalid_message(sim *s, sim_node *n, lp2p_buf *body) {
  uint8_t data[64] = {0}, seqno[8], sig[64];
  uint64_t k = n->attack_seq;
  for (int i = 0; i < 8; i++) {
    seqno[i] = (uint8_t)(k >> (56 - 8 * i));
  }
  /* first 8 bytes: an index no honest message has */
  data[0] = 0xff;
  memcpy(data + 1, &n->index, sizeof(n->index));
  memcpy(data + 5, &k, 3);
  for (size_t i = 0; i < sizeof(sig); i++) {
    sig[i] = (uint8_t)lp2p_pcg_u32(&n->rng);
  }
  lp2p_rpc_msg m = {0};
  m.from = (lp2p_bytes){n->id.bytes, n->id.len};
  m.data = (lp2p_bytes){data, s->c->size < sizeof(data) ? s->c->size : 64};
  m.seqno = (lp2p_bytes){seqno, 8};
  m.topic = (lp2p_bytes){(const uint8_t *)SIM_TOPIC, SIM_TOPIC_LEN};
  m.signature = (lp2p_bytes){sig, sizeof(sig)};
  lp2p_buf msg;
  lp2p_buf_init(&msg, s->mem);
  if (lp2p_rpc_put_message_body(&msg, &m) == 0) {
    lp2p_rpc_put_publish(body, msg.data, msg.len);
  }
  lp2p_buf_free(&msg);
}

/* IHAVE for ten ids that exist nowhere. */
static void fake_ihave(sim *s, sim_node *n, lp2p_buf *body) {
  uint8_t store[10][8];
  lp2p_bytes ids[10];
  lp2p_buf ctl;
  (void)s;
  for (int i = 0; i < 10; i++) {
    uint64_t v = lp2p_pcg_u64(&n->rng) | (UINT64_C(1) << 63);
    memcpy(store[i], &v, 8);
    ids[i] = (lp2p_bytes){store[i], 8};
  }
  lp2p_buf_init(&ctl, s->mem);
  if (lp2p_ctl_put_ihave(&ctl, (const uint8_t *)SIM_TOPIC, SIM_TOPIC_LEN, ids,
                         10) == 0) {
    lp2p_rpc_put_control(body, ctl.data, ctl.len);
  }
  lp2p_buf_free(&ctl);
}

/* GRAFT, preceded the first time by a PRUNE that puts the attacker in
 * backoff at every peer: each GRAFT after it comes during backoff. */
static void graft_again(sim *s, sim_node *n, lp2p_buf *body) {
  lp2p_buf ctl;
  (void)s;
  lp2p_buf_init(&ctl, s->mem);
  if (n->attack_seq == 0) {
    lp2p_ctl_put_prune(&ctl, (const uint8_t *)SIM_TOPIC, SIM_TOPIC_LEN, 60,
                       NULL, 0);
  }
  lp2p_ctl_put_graft(&ctl, (const uint8_t *)SIM_TOPIC, SIM_TOPIC_LEN);
  lp2p_rpc_put_control(body, ctl.data, ctl.len);
  lp2p_buf_free(&ctl);
}

/* drop-serve: remembers the ids of an IWANT (a ControlMessage field). */
static void note_iwants(sim_node *n, uint32_t from, const uint8_t *ctl,
                        size_t len) {
  lp2p_pb_reader rd, ids;
  lp2p_pb_field f, id;
  lp2p_pb_reader_init(&rd, ctl, len);
  while (lp2p_pb_next(&rd, &f) == 1) {
    if (f.num != LP2P_CTL_IWANT || !f.data) {
      continue;
    }
    lp2p_pb_reader_init(&ids, f.data, f.len);
    while (lp2p_pb_next(&ids, &id) == 1) {
      if (id.num == 1 && id.data) {
        uint64_t key = iwanted_key(from, id.data, id.len);
        iwanted_slot(n, key)->key = key;
      }
    }
  }
}

#define WITHHOLD_MAX_IDS 64

/* ihave-withhold: one IHAVE to every peer for the messages of an RPC. */
static void advertise(sim *s, sim_node *n, const lp2p_bytes *ids, size_t k) {
  lp2p_buf ctl, body;
  lp2p_buf_init(&ctl, s->mem);
  lp2p_buf_init(&body, s->mem);
  if (k &&
      lp2p_ctl_put_ihave(&ctl, (const uint8_t *)SIM_TOPIC, SIM_TOPIC_LEN, ids,
                         k) == 0 &&
      lp2p_rpc_put_control(&body, ctl.data, ctl.len) == 0) {
    broadcast(s, n, &body);
  }
  lp2p_buf_free(&ctl);
  lp2p_buf_free(&body);
}

void lp2p__sim_attack_observe(sim *s, sim_node *n, uint32_t from,
                              const uint8_t *rpc, size_t len) {
  lp2p_sim_attack a = s->c->attack;
  const uint8_t *body;
  size_t body_len;
  if ((a != LP2P_ATTACK_DROP_SERVE && a != LP2P_ATTACK_IHAVE_WITHHOLD) ||
      !lp2p__sim_attacking(s) ||
      lp2p__pubsub_unframe(rpc, len, &body, &body_len) != 0) {
    return;
  }
  uint8_t store[WITHHOLD_MAX_IDS][40];
  lp2p_bytes ids[WITHHOLD_MAX_IDS];
  size_t k = 0;
  lp2p_pb_reader rd;
  lp2p_pb_field f;
  lp2p_pb_reader_init(&rd, body, body_len);
  while (lp2p_pb_next(&rd, &f) == 1) {
    lp2p_rpc_msg m;
    if (a == LP2P_ATTACK_DROP_SERVE && f.num == LP2P_RPC_CONTROL && f.data) {
      note_iwants(n, from, f.data, f.len);
    } else if (a == LP2P_ATTACK_IHAVE_WITHHOLD && f.num == LP2P_RPC_PUBLISH &&
               k < WITHHOLD_MAX_IDS &&
               lp2p_rpc_decode_message(f.data, f.len, &m) == 0) {
      size_t idlen = lp2p__sim_msg_id(s, &m, store[k], sizeof(store[k]));
      if (idlen) {
        ids[k] = (lp2p_bytes){store[k], idlen};
        k++;
      }
    }
  }
  advertise(s, n, ids, k);
}

void lp2p__sim_attack_tick(sim *s, sim_node *n) {
  lp2p_buf body;
  lp2p_buf_init(&body, s->mem);
  switch (s->c->attack) {
  case LP2P_ATTACK_INVALID:
    invalid_message(s, n, &body);
    break;
  case LP2P_ATTACK_IHAVE_SPAM:
    fake_ihave(s, n, &body);
    break;
  case LP2P_ATTACK_GRAFT_SPAM:
    graft_again(s, n, &body);
    break;
  default:
    break;
  }
  n->attack_seq++;
  if (body.len) {
    broadcast(s, n, &body);
  }
  lp2p_buf_free(&body);
  if (s->now + s->c->attack_interval <= s->end) {
    lp2p__sim_push(s, &n->attack, s->now + s->c->attack_interval);
  }
}

/* Attacks that make moves of their own. */
static bool has_moves(lp2p_sim_attack a) {
  return a == LP2P_ATTACK_INVALID || a == LP2P_ATTACK_IHAVE_SPAM ||
         a == LP2P_ATTACK_GRAFT_SPAM;
}

int lp2p__sim_attack_schedule(sim *s) {
  const lp2p_sim_config *c = s->c;
  if (!has_moves(c->attack)) {
    return 0;
  }
  lp2p_tstamp begin =
      c->attack_start > c->attack_join ? c->attack_start : c->attack_join;
  if (begin == 0) {
    begin = c->warmup / 2; /* once the meshes stand */
  }
  for (size_t i = c->nodes; i < s->total; i++) {
    sim_node *n = &s->nodes[i];
    /* at staggered times */
    lp2p_tstamp at =
        begin + lp2p_pcg_below(&s->rng, (uint32_t)(c->attack_interval /
                                                   LP2P_MILLISECONDS)) *
                    LP2P_MILLISECONDS;
    int rv = lp2p__sim_push(s, &n->attack, at);
    if (rv != 0) {
      return rv;
    }
  }
  return 0;
}

int lp2p_sim_scenario(lp2p_sim_config *c, const char *name) {
  lp2p_tstamp span =
      (lp2p_tstamp)(c->messages ? c->messages - 1 : 0) * c->interval;
  c->attack_join = c->attack_start = 0;
  c->eclipse = false;
  c->attacker_ips = 0;
  if (strcmp(name, "warm") == 0) {
    c->attack_join = c->warmup;
  } else if (strcmp(name, "covert-flash") == 0) {
    c->attack_start = c->warmup + span / 3 / LP2P_SECONDS * LP2P_SECONDS;
  } else if (strcmp(name, "eclipse") == 0) {
    c->eclipse = true;
  } else if (strcmp(name, "ip-colocation") == 0) {
    /* few enough that a node's attackers share addresses past P6's
     * threshold: P6 counts the peers of one router */
    c->attacker_ips = c->attackers < 4 ? c->attackers : 4;
  } else if (strcmp(name, "none") != 0 && strcmp(name, "cold-boot") != 0) {
    return LP2P_ERR_INVALID_ARG;
  }
  return 0;
}
