/* Messages: the shared reference-counted form, building and signing ours,
 * checking the signing policy and signatures of others', and message
 * ids. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/mem.h"
#include "crypto/sha256.h"
#include "message.h"
#include "pb/wire.h"
#include "router.h"

#define SIGN_PREFIX "libp2p-pubsub:"
#define SEQNO_LEN 8

uint64_t lp2p_gs_id_hash(const lp2p_router *r, const uint8_t *id, size_t len) {
  uint64_t h;
  crypto_shorthash((uint8_t *)&h, id, len, r->id_key);
  return h ? h : 1; /* 0 marks free slots in the tables */
}

const uint8_t *lp2p_gs_msg_id(const gs_msg *m) {
  return m->bytes;
}

void lp2p__router_set_msg_store(lp2p_router *r, const lp2p__msg_store *store) {
  r->store = store;
}

/* The store's copy of the body, or NULL for one of our own. */
static const uint8_t *shared_body(lp2p_router *r, const lp2p_rpc_msg *f) {
  return r->store ? r->store->intern(r->store->user, f->raw.data, f->raw.len)
                  : NULL;
}

/* Re-points a view from the received buffer into the message's copy. */
static lp2p_bytes rebase(lp2p_bytes v, const lp2p_rpc_msg *f,
                         const uint8_t *base) {
  if (v.data && v.len) {
    v.data = base + (v.data - f->raw.data);
  }
  return v;
}

gs_msg *lp2p_gs_msg_new(lp2p_router *r, const lp2p_rpc_msg *f,
                        const uint8_t *id, size_t id_len) {
  const uint8_t *shared = shared_body(r, f);
  size_t own = shared ? 0 : f->raw.len;
  gs_msg *m = lp2p_malloc(r->mem, sizeof(*m) + id_len + own);
  if (!m) {
    if (shared) {
      r->store->release(r->store->user, shared, f->raw.len);
    }
    return NULL;
  }
  m->refs = 1;
  m->queues = 0;
  m->batch_copies = 0;
  m->batch_seq = 0;
  m->batch_in_order = false;
  m->body_shared = shared != NULL;
  m->id_len = (uint16_t)id_len;
  m->hash = lp2p_gs_id_hash(r, id, id_len);
  m->iwant_counts = NULL;
  m->n_iwant_counts = 0;
  memcpy(m->bytes, id, id_len);
  uint8_t *body = m->bytes + id_len;
  if (!shared) {
    memcpy(body, f->raw.data, f->raw.len);
  }
  const uint8_t *base = shared ? shared : body;
  m->f.raw.data = base;
  m->f.raw.len = f->raw.len;
  m->publish_size =
      (uint32_t)lp2p_pb_len_field_size(LP2P_RPC_PUBLISH, f->raw.len);
  m->f.from = rebase(f->from, f, base);
  m->f.data = rebase(f->data, f, base);
  m->f.seqno = rebase(f->seqno, f, base);
  m->f.topic = rebase(f->topic, f, base);
  m->f.signature = rebase(f->signature, f, base);
  m->f.key = rebase(f->key, f, base);
  return m;
}

gs_msg *lp2p_gs_msg_ref(gs_msg *m) {
  m->refs++;
  return m;
}

void lp2p_gs_msg_unref(lp2p_router *r, gs_msg *m) {
  if (--m->refs == 0) {
    if (m->body_shared) {
      r->store->release(r->store->user, m->f.raw.data, m->f.raw.len);
    }
    lp2p_free(r->mem, m->iwant_counts);
    lp2p_free(r->mem, m);
  }
}

/* The bytes a signature covers: the prefix and the Message without its
 * signature and key, re-encoded in field order as go-libp2p does. */
static int signed_bytes(lp2p_buf *b, const lp2p_rpc_msg *m) {
  lp2p_rpc_msg unsigned_msg = *m;
  unsigned_msg.signature.data = NULL;
  unsigned_msg.key.data = NULL;
  lp2p_buf_truncate(b, 0);
  int rv = lp2p_buf_append_str(b, SIGN_PREFIX);
  if (rv == 0) {
    rv = lp2p_rpc_put_message_body(b, &unsigned_msg);
  }
  return rv;
}

/* rust-libp2p's default id (gossipsub config.rs): base58 of the author's
 * peer id bytes, then the seqno (8 bytes big endian) in decimal. */
static int rust_id(const lp2p_rpc_msg *m, uint8_t *out, size_t cap) {
  static const uint8_t no_author[] = {0, 1, 0}; /* rust's stand-in */
  char text[LP2P_PEER_ID_TEXT_MAX + 21];
  lp2p_bytes from = m->from.data ? m->from : (lp2p_bytes){no_author, 3};
  uint64_t seqno = 0;
  if (m->seqno.data && m->seqno.len != 8) {
    return LP2P_ERR_MALFORMED;
  }
  for (size_t i = 0; m->seqno.data && i < 8; i++) {
    seqno = seqno << 8 | m->seqno.data[i];
  }
  int n = lp2p_base58_encode(from.data, from.len, text, sizeof(text) - 21);
  if (n < 0) {
    return LP2P_ERR_MALFORMED;
  }
  n += snprintf(text + n, 21, "%llu", (unsigned long long)seqno);
  if ((size_t)n > cap) {
    return LP2P_ERR_MALFORMED;
  }
  memcpy(out, text, (size_t)n);
  return n;
}

int lp2p_gs_msg_compute_id(lp2p_router *r, const lp2p_rpc_msg *m, uint8_t *out,
                           size_t cap) {
  size_t n;
  switch (r->s.msg_id) {
  case LP2P_MSG_ID_SHA256:
    if (cap < LP2P_SHA256_LEN || !m->data.data) {
      return LP2P_ERR_MALFORMED;
    }
    lp2p__sha256(out, m->data.data, m->data.len);
    return LP2P_SHA256_LEN;
  case LP2P_MSG_ID_RUST:
    return rust_id(m, out, cap);
  case LP2P_MSG_ID_CALLBACK: {
    lp2p_message view = {m->from, m->data, m->seqno, m->topic, {NULL, 0}, NULL};
    int len = r->cb.msg_id(r, &view, out, cap, r->user);
    return len > 0 && (size_t)len <= cap ? len : LP2P_ERR_MALFORMED;
  }
  default:
    n = m->from.len + m->seqno.len;
    if (n == 0 || n > cap) {
      return LP2P_ERR_MALFORMED;
    }
    memcpy(out, m->from.data, m->from.len);
    memcpy(out + m->from.len, m->seqno.data, m->seqno.len);
    return (int)n;
  }
}

/* The author's key: Message.key when present (it must match `from`),
 * otherwise the key inlined in the peer id. */
static int author_key(const lp2p_rpc_msg *m, lp2p_pubkey *pub) {
  lp2p_peer_id from;
  int rv = lp2p_peer_id_from_bytes(m->from.data, m->from.len, &from);
  if (rv != 0) {
    return rv;
  }
  if (!m->key.data) {
    return lp2p_peer_id_pubkey(&from, pub);
  }
  rv = lp2p_pubkey_unmarshal(m->key.data, m->key.len, pub);
  return rv != 0 ? rv : lp2p_peer_id_check_pubkey(&from, pub);
}

int lp2p_gs_msg_check_signature(lp2p_router *r, const lp2p_rpc_msg *m) {
  if (r->s.sign_policy == LP2P_STRICT_NO_SIGN) {
    /* StrictNoSign: no authorship information at all */
    return m->from.data || m->seqno.data || m->signature.data || m->key.data
               ? LP2P_ERR_MALFORMED
               : 0;
  }
  if (!m->from.data || !m->signature.data ||
      (m->seqno.data && m->seqno.len != SEQNO_LEN)) {
    return LP2P_ERR_MALFORMED;
  }
  lp2p_pubkey pub;
  int rv = author_key(m, &pub);
  if (rv != 0) {
    return LP2P_ERR_BAD_SIGNATURE;
  }
  lp2p_buf *b = &r->scratch;
  if (signed_bytes(b, m) != 0) {
    return LP2P_ERR_NOMEM;
  }
  if (r->cb.verify) {
    return r->cb.verify(r, &pub, b->data, b->len, m->signature.data,
                        m->signature.len, r->user);
  }
  return lp2p_pubkey_verify(&pub, b->data, b->len, m->signature.data,
                            m->signature.len);
}

/* Encodes our message into r->scratch, signing it under StrictSign. */
static int encode_ours(lp2p_router *r, lp2p_rpc_msg *m) {
  uint8_t sig[LP2P_SIG_MAX], pk[LP2P_PUBKEY_PB_MAX];
  size_t sig_len;
  lp2p_buf *b = &r->scratch;
  if (r->s.sign_policy == LP2P_STRICT_SIGN) {
    int rv = signed_bytes(b, m);
    if (rv == 0) {
      rv = lp2p_privkey_sign(&r->s.key, b->data, b->len, sig, &sig_len);
    }
    if (rv != 0) {
      return rv;
    }
    m->signature = (lp2p_bytes){sig, sig_len};
    if (!r->self_key_inline) {
      int n = lp2p_pubkey_marshal(&r->self_key, pk, sizeof(pk));
      m->key = (lp2p_bytes){pk, (size_t)n};
    }
  }
  lp2p_buf_truncate(b, 0);
  return lp2p_rpc_put_message_body(b, m);
}

gs_msg *lp2p_gs_msg_build(lp2p_router *r, const uint8_t *topic,
                          size_t topic_len, const uint8_t *data, size_t len,
                          int *err) {
  static const uint8_t empty[1];
  uint8_t seqno[SEQNO_LEN], id[256];
  lp2p_rpc_msg m;
  memset(&m, 0, sizeof(m));
  m.data = (lp2p_bytes){len ? data : empty, len};
  m.topic = (lp2p_bytes){topic, topic_len};
  if (r->s.sign_policy == LP2P_STRICT_SIGN) {
    uint64_t s = r->seqno++;
    for (int i = 0; i < SEQNO_LEN; i++) {
      seqno[i] = (uint8_t)(s >> (56 - 8 * i));
    }
    m.from = (lp2p_bytes){r->self.bytes, r->self.len};
    m.seqno = (lp2p_bytes){seqno, SEQNO_LEN};
  }
  int n = lp2p_gs_msg_compute_id(r, &m, id,
                                 sizeof(id) < r->s.limits.max_id_len
                                     ? sizeof(id)
                                     : r->s.limits.max_id_len);
  *err = n < 0 ? LP2P_ERR_INVALID_ARG : encode_ours(r, &m);
  if (*err != 0) {
    return NULL;
  }
  /* the message must fit in one RPC too, its field header included, or
   * every pull would drop it */
  if (r->scratch.len > r->s.limits.max_message_size ||
      lp2p_pb_len_field_size(LP2P_RPC_PUBLISH, r->scratch.len) >
          r->s.limits.max_rpc_size) {
    *err = LP2P_ERR_TOO_LARGE;
    return NULL;
  }
  /* parse our own encoding so the views point into the copy */
  lp2p_rpc_msg f;
  lp2p_rpc_decode_message(r->scratch.data, r->scratch.len, &f);
  gs_msg *msg = lp2p_gs_msg_new(r, &f, id, (size_t)n);
  if (!msg) {
    *err = LP2P_ERR_NOMEM;
  }
  return msg;
}

void lp2p_gs_msg_view(const gs_msg *m, const lp2p_peer_id *from,
                      lp2p_message *out) {
  out->from = m->f.from;
  out->data = m->f.data;
  out->seqno = m->f.seqno;
  out->topic = m->f.topic;
  out->id = (lp2p_bytes){lp2p_gs_msg_id(m), m->id_len};
  out->received_from = from;
}
