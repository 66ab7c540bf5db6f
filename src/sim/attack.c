/* Attackers in the simulator: routers like the others whose outgoing
 * RPCs are rewritten, and who make moves of their own every
 * attack_interval. Each attack is one the score function of gossipsub
 * v1.1 is meant to push out. */
#include <string.h>

#include "pb/rpc.h"
#include "pb/wire.h"
#include "sim/sim_internal.h"

/* Drops the RPC.publish fields of a framed RPC (drop: forward nothing;
 * ihave-spam: never answer an IWANT). Returns the new length. */
static size_t strip_messages(uint8_t *rpc, size_t len) {
  uint64_t body;
  int h = lp2p_uvarint_decode(rpc, len, &body);
  lp2p_pb_reader rd;
  lp2p_pb_field f;
  if (h <= 0 || (size_t)h + body != len) {
    return 0;
  }
  /* keep the other fields, moved into place after the old frame header;
   * the kept bytes never overtake the ones still to read */
  size_t kept = 0;
  lp2p_pb_reader_init(&rd, rpc + h, (size_t)body);
  const uint8_t *start = rd.pos;
  while (lp2p_pb_next(&rd, &f) == 1) {
    size_t flen = (size_t)(rd.pos - start);
    if (f.num != LP2P_RPC_PUBLISH) {
      memmove(rpc + h + kept, start, flen);
      kept += flen;
    }
    start = rd.pos;
  }
  if (kept == 0) {
    return 0;
  }
  uint8_t prefix[LP2P_PB_VARINT_MAX];
  int n = lp2p_uvarint_encode(kept, prefix, sizeof(prefix));
  memmove(rpc + n, rpc + h, kept);
  memcpy(rpc, prefix, (size_t)n);
  return (size_t)n + kept;
}

/* Flips a byte of every message signature (invalid). */
static size_t corrupt_signatures(uint8_t *rpc, size_t len) {
  uint64_t body;
  int h = lp2p_uvarint_decode(rpc, len, &body);
  lp2p_pb_reader rd;
  lp2p_pb_field f;
  if (h <= 0 || (size_t)h + body != len) {
    return len;
  }
  lp2p_pb_reader_init(&rd, rpc + h, (size_t)body);
  while (lp2p_pb_next(&rd, &f) == 1) {
    lp2p_rpc_msg m;
    if (f.num == LP2P_RPC_PUBLISH &&
        lp2p_rpc_decode_message(f.data, f.len, &m) == 0 && m.signature.len) {
      ((uint8_t *)m.signature.data)[0] ^= 0x80;
    }
  }
  return len;
}

size_t sim_attack_filter(sim *s, sim_node *n, uint8_t *rpc, size_t len) {
  (void)n;
  switch (s->c->attack) {
  case LP2P_ATTACK_INVALID:
    return corrupt_signatures(rpc, len);
  case LP2P_ATTACK_DROP:
  case LP2P_ATTACK_IHAVE_SPAM:
    return strip_messages(rpc, len);
  default:
    return len;
  }
}

/* Sends one RPC body to every peer of `n`. */
static void broadcast(sim *s, sim_node *n, const lp2p_buf *body) {
  uint8_t frame[LP2P_PB_VARINT_MAX];
  lp2p_buf rpc;
  lp2p_buf_init(&rpc, NULL);
  int h = lp2p_uvarint_encode(body->len, frame, sizeof(frame));
  if (lp2p_buf_append(&rpc, frame, (size_t)h) == 0 &&
      lp2p_buf_append(&rpc, body->data, body->len) == 0) {
    for (uint32_t i = 0; i < n->nlinks; i++) {
      sim_send_rpc(s, n, i, rpc.data, rpc.len, s->now);
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
  lp2p_buf_init(&msg, NULL);
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
  lp2p_buf_init(&ctl, NULL);
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
  lp2p_buf_init(&ctl, NULL);
  if (n->attack_seq == 0) {
    lp2p_ctl_put_prune(&ctl, (const uint8_t *)SIM_TOPIC, SIM_TOPIC_LEN, 60,
                       NULL, 0);
  }
  lp2p_ctl_put_graft(&ctl, (const uint8_t *)SIM_TOPIC, SIM_TOPIC_LEN);
  lp2p_rpc_put_control(body, ctl.data, ctl.len);
  lp2p_buf_free(&ctl);
}

void sim_attack_tick(sim *s, sim_node *n) {
  lp2p_buf body;
  lp2p_buf_init(&body, NULL);
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
    sim_push(s, &n->attack, s->now + s->c->attack_interval);
  }
}

int sim_attack_schedule(sim *s) {
  if (s->c->attack == LP2P_ATTACK_NONE || s->c->attack == LP2P_ATTACK_DROP) {
    return 0; /* dropping needs no moves of its own */
  }
  for (size_t i = s->c->nodes; i < s->total; i++) {
    sim_node *n = &s->nodes[i];
    /* attackers start once the meshes stand, at staggered times */
    lp2p_tstamp at = s->c->warmup / 2 +
                     lp2p_pcg_below(&s->rng, (uint32_t)(s->c->attack_interval /
                                                        LP2P_MILLISECONDS)) *
                         LP2P_MILLISECONDS;
    int rv = sim_push(s, &n->attack, at);
    if (rv != 0) {
      return rv;
    }
  }
  return 0;
}
