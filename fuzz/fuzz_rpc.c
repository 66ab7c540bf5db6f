/* The pubsub RPC decoder (lp2p_rpc_decode), differentially against
 * protobuf-c's decoder generated from fuzz/rpc.proto at build time.
 *
 * Properties, with every limit at SIZE_MAX:
 * 1. lp2p and protobuf-c agree on accept/reject, except where the two are
 *    known to differ (below); each such difference is recognised in the
 *    input by a small schema-driven scanner (scan()), and the scanner's
 *    prediction must match both decoders exactly, so a difference it
 *    cannot explain is a failure.
 * 2. When both accept, they give the same fields: every SubOpts, every
 *    Message field (presence and bytes), IHAVE/IWANT/IDONTWANT ids, GRAFT
 *    and PRUNE topics, PX entries and backoffs, and gossipsub v1.3's
 *    ControlExtensions (presence, each bool: the last value wins when
 *    occurrences merge), RPC.testExtension (presence), and the
 *    partial-messages extension's SubOpts bools and RPC.partial (presence
 *    and each bytes field; its occurrences merge, checked against
 *    protobuf-c's decoding of each: see check_partial_merged). RPC.control
 *    may occur
 * more than once: protobuf-c merges the occurrences (repeated fields are
 *    concatenated) and lp2p appends their entries, so the two must still
 *    be equal entry for entry.
 * 3. Re-encoding what lp2p decoded with lp2p's encoders decodes again to
 *    the same fields, and encoding that once more gives the same bytes.
 * 4. protobuf-c's own canonical encoding of what it decoded is accepted by
 *    lp2p and decodes to the same fields.
 * 5. With small count limits (sizes unlimited), lp2p accepts and rejects
 *    the same inputs, keeps the first entries up to each limit and counts
 *    the rest as truncated: an over-long part never drops the RPC.
 *
 * The known differences (protobuf-c 1.4.1's rules from protobuf-c.c):
 * - SubOpts without topicid: lp2p refuses it (LP2P_ERR_MALFORMED, a
 *   subscription to nothing is useless), protobuf-c accepts it (proto2
 *   has no required field here); protobuf-c's message must then indeed
 *   hold a SubOpts without topicid.
 * - A SubOpts or ControlExtensions bool with a wire type other
 *   than VARINT: protobuf-c does not check the wire type of bool fields
 *   at all; lp2p refuses (LP2P_ERR_WRONG_TYPE) as for every known field.
 * - A varint value of 10 bytes whose last byte is above 1 (more than 64
 *   bits): protobuf-c drops the excess bits, lp2p refuses
 *   (LP2P_ERR_OVERLONG).
 * - A tag in 2 to 5 bytes naming field 0 (non-minimal, e.g. 80 00):
 *   protobuf-c only rejects field 0 written in one byte and takes the rest
 *   as an unknown field 0; lp2p refuses field 0 however it is written.
 * - A tag of 5 bytes naming a field above 2^29 - 1, the largest protobuf
 *   allows: protobuf-c keeps it as an unknown field, lp2p refuses it.
 * - A tag or a length prefix of more than 5 bytes (necessarily
 *   non-minimal here): protobuf-c refuses it, lp2p reads varints of up to
 *   10 bytes anywhere (as protobuf's reference decoders do).
 * Proto2 'required' fields, which protobuf-c would enforce, do not occur
 * in rpc.proto. Non-minimal varints of at most 5 bytes (or 10 for values)
 * are accepted by both. */
#include <string.h>

#include "fuzz.h"
#include "pb/rpc.h"
#include "pb/wire.h"
#include "rpc.pb-c.h"

/* ---- the scanner of known differences ------------------------------------ */

enum {
  Q_BOTH = 1,    /* both decoders reject */
  Q_LP2P = 2,    /* only lp2p rejects (protobuf-c leniency) */
  Q_PBC = 4,     /* only protobuf-c rejects (long varints) */
  Q_NOTOPIC = 8, /* a SubOpts without topicid: only lp2p rejects */
};

typedef enum kind {
  K_RPC,
  K_SUBOPTS,
  K_MESSAGE,
  K_CONTROL,
  K_IHAVE,
  K_IDS, /* IWANT and IDONTWANT */
  K_GRAFT,
  K_PRUNE,
  K_PEERINFO,
  K_EXTENSIONS,     /* ControlExtensions */
  K_TEST_EXTENSION, /* TestExtension: no fields */
  K_PARTIAL         /* PartialMessagesExtension */
} kind;

typedef enum ftype { F_UNKNOWN, F_BYTES, F_BOOL, F_UINT64, F_MSG } ftype;

/* The schema of rpc.proto: the type of field `num` of a message of kind
 * `k`, and the kind of an embedded message. */
static ftype field_type(kind k, uint64_t num, kind *sub) {
  switch (k) {
  case K_RPC:
    if (num >= 1 && num <= 3) {
      *sub = num == 1 ? K_SUBOPTS : num == 2 ? K_MESSAGE : K_CONTROL;
      return F_MSG;
    }
    if (num == LP2P_RPC_TEST_EXTENSION || num == LP2P_RPC_PARTIAL) {
      *sub = num == LP2P_RPC_PARTIAL ? K_PARTIAL : K_TEST_EXTENSION;
      return F_MSG;
    }
    return F_UNKNOWN;
  case K_SUBOPTS:
    return num == 1 || num == 3 || num == 4 ? F_BOOL
           : num == 2                       ? F_BYTES
                                            : F_UNKNOWN;
  case K_PARTIAL:
    return num >= 1 && num <= 4 ? F_BYTES : F_UNKNOWN;
  case K_MESSAGE:
    return num >= 1 && num <= 6 ? F_BYTES : F_UNKNOWN;
  case K_CONTROL:
    if (num >= 1 && num <= 6) {
      static const kind subs[] = {K_IHAVE, K_IDS, K_GRAFT,
                                  K_PRUNE, K_IDS, K_EXTENSIONS};
      *sub = subs[num - 1];
      return F_MSG;
    }
    return F_UNKNOWN;
  case K_EXTENSIONS:
    return num == LP2P_EXT_PARTIAL_MESSAGES || num == LP2P_EXT_TEST ? F_BOOL
                                                                    : F_UNKNOWN;
  case K_TEST_EXTENSION:
    return F_UNKNOWN;
  case K_IHAVE:
    return num == 1 || num == 2 ? F_BYTES : F_UNKNOWN;
  case K_IDS:
  case K_GRAFT:
    return num == 1 ? F_BYTES : F_UNKNOWN;
  case K_PRUNE:
    if (num == 2) {
      *sub = K_PEERINFO;
      return F_MSG;
    }
    return num == 1 ? F_BYTES : num == 3 ? F_UINT64 : F_UNKNOWN;
  case K_PEERINFO:
    return num == 1 || num == 2 ? F_BYTES : F_UNKNOWN;
  }
  return F_UNKNOWN;
}

/* Reads a varint of up to 10 bytes at p[0..n). Returns its length, or 0
 * when it does not end within 10 bytes or the input. *overflow is set when
 * a 10th byte carries more than the top bit of a uint64. */
static size_t scan_varint(const uint8_t *p, size_t n, uint64_t *v,
                          int *overflow) {
  uint64_t x = 0;
  *overflow = 0;
  for (size_t i = 0; i < 10 && i < n; i++) {
    x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
    if (i == 9 && p[i] > 1) {
      *overflow = 1;
    }
    if (!(p[i] & 0x80)) {
      *v = x;
      return i + 1;
    }
  }
  return 0;
}

/* Reads a message of kind `k` the way both decoders read it (they consume
 * the same bytes for every field and differ only in what they refuse),
 * and returns the Q_* differences found in it. Stops at Q_BOTH. */
static unsigned scan(kind k, const uint8_t *p, size_t n) {
  unsigned q = 0;
  int has_topic = 0, ovf;
  size_t pos = 0;
  while (pos < n) {
    uint64_t tag, v;
    size_t t = scan_varint(p + pos, n - pos, &tag, &ovf);
    if (t == 0 || ovf) {
      return q | Q_BOTH; /* unterminated, or too long for both */
    }
    uint64_t num = tag >> 3;
    unsigned wt = (unsigned)(tag & 7);
    if (t > 5) {
      q |= Q_PBC; /* protobuf-c reads tags of at most 5 bytes */
    }
    if (num == 0) {
      if (t == 1) {
        return q | Q_BOTH;
      }
      q |= Q_LP2P; /* field 0, written non-minimally */
    } else if (num > UINT32_MAX >> 3) {
      q |= Q_LP2P; /* above 2^29 - 1 */
    }
    pos += t;
    size_t body = pos, len = 0;
    switch (wt) {
    case 0:
      len = scan_varint(p + pos, n - pos, &v, &ovf);
      if (len == 0) {
        return q | Q_BOTH;
      }
      if (ovf) {
        q |= Q_LP2P;
      }
      break;
    case 1:
    case 5:
      len = wt == 1 ? 8 : 4;
      if (n - pos < len) {
        return q | Q_BOTH;
      }
      break;
    case 2: {
      size_t h = scan_varint(p + pos, n - pos, &v, &ovf);
      if (h == 0 || ovf || v > n - pos - h) {
        return q | Q_BOTH;
      }
      if (h > 5) {
        q |= Q_PBC; /* protobuf-c reads length prefixes of at most 5 */
      }
      body = pos + h;
      len = h + (size_t)v;
      break;
    }
    default: /* groups, and wire types 6 and 7 */
      return q | Q_BOTH;
    }
    kind sub = K_RPC;
    switch (field_type(k, num, &sub)) {
    case F_UNKNOWN:
      break;
    case F_BOOL:
      if (wt != 0) {
        q |= Q_LP2P; /* protobuf-c does not check a bool's wire type */
      }
      break;
    case F_UINT64:
      if (wt != 0) {
        return q | Q_BOTH;
      }
      break;
    case F_BYTES:
    case F_MSG:
      if (wt != 2) {
        return q | Q_BOTH;
      }
      if (k == K_SUBOPTS) {
        has_topic = 1;
      }
      if (field_type(k, num, &sub) == F_MSG) {
        q |= scan(sub, p + body, pos + len - body);
        if (q & Q_BOTH) {
          return q;
        }
      }
      break;
    }
    pos += len;
  }
  if (k == K_SUBOPTS && !has_topic) {
    q |= Q_NOTOPIC;
  }
  return q;
}

/* ---- comparing lp2p's views with protobuf-c's message -------------------- */

static int same_bytes(lp2p_bytes a, protobuf_c_boolean has,
                      ProtobufCBinaryData b) {
  if ((a.data != NULL) != (has != 0)) {
    return 0;
  }
  return !has ||
         (a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
}

static int same_ids(const lp2p_rpc *r, const lp2p_rpc_ids *e, size_t n,
                    const ProtobufCBinaryData *ids) {
  if (e->count != n || e->first > r->ids.len || n > r->ids.len - e->first) {
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    if (!same_bytes(r->ids.items[e->first + i], 1, ids[i])) {
      return 0;
    }
  }
  return 1;
}

/* v1.3: ControlExtensions present or not, and its two bools. */
static void check_extensions(const lp2p_rpc *r,
                             const Fuzzrpc__ControlMessage *c) {
  const Fuzzrpc__ControlExtensions *e = c ? c->extensions : NULL;
  FUZZ_CHECK(r->has_extensions == (e != NULL));
  FUZZ_CHECK(r->ext.partial_messages ==
             (e && e->has_partialmessages && e->partialmessages));
  FUZZ_CHECK(r->ext.test_extension ==
             (e && e->has_testextension && e->testextension));
}

static void check_control(const lp2p_rpc *r, const Fuzzrpc__ControlMessage *c) {
  static const Fuzzrpc__ControlMessage empty = FUZZRPC__CONTROL_MESSAGE__INIT;
  check_extensions(r, c);
  if (!c) {
    c = &empty;
  }
  FUZZ_CHECK(r->ihave.len == c->n_ihave && r->iwant.len == c->n_iwant);
  FUZZ_CHECK(r->graft.len == c->n_graft && r->prune.len == c->n_prune);
  FUZZ_CHECK(r->idontwant.len == c->n_idontwant);
  for (size_t i = 0; i < c->n_ihave; i++) {
    const Fuzzrpc__ControlIHave *x = c->ihave[i];
    FUZZ_CHECK(same_bytes(r->ihave.items[i].topic, x->has_topicid, x->topicid));
    FUZZ_CHECK(same_ids(r, &r->ihave.items[i], x->n_messageids, x->messageids));
  }
  for (size_t i = 0; i < c->n_iwant; i++) {
    const Fuzzrpc__ControlIWant *x = c->iwant[i];
    FUZZ_CHECK(r->iwant.items[i].topic.data == NULL);
    FUZZ_CHECK(same_ids(r, &r->iwant.items[i], x->n_messageids, x->messageids));
  }
  for (size_t i = 0; i < c->n_idontwant; i++) {
    const Fuzzrpc__ControlIDontWant *x = c->idontwant[i];
    FUZZ_CHECK(r->idontwant.items[i].topic.data == NULL);
    FUZZ_CHECK(
        same_ids(r, &r->idontwant.items[i], x->n_messageids, x->messageids));
  }
  for (size_t i = 0; i < c->n_graft; i++) {
    FUZZ_CHECK(same_bytes(r->graft.items[i], c->graft[i]->has_topicid,
                          c->graft[i]->topicid));
  }
  for (size_t i = 0; i < c->n_prune; i++) {
    const Fuzzrpc__ControlPrune *x = c->prune[i];
    const lp2p_rpc_prune *p = &r->prune.items[i];
    FUZZ_CHECK(same_bytes(p->topic, x->has_topicid, x->topicid));
    /* lp2p gives 0 for an absent backoff: the same meaning (none) */
    FUZZ_CHECK(p->backoff == (x->has_backoff ? x->backoff : 0));
    FUZZ_CHECK(p->npx == x->n_peers && p->first_px <= r->px.len &&
               p->npx <= r->px.len - p->first_px);
    for (size_t j = 0; j < x->n_peers; j++) {
      const lp2p_rpc_px *px = &r->px.items[p->first_px + j];
      FUZZ_CHECK(same_bytes(px->peer_id, x->peers[j]->has_peerid,
                            x->peers[j]->peerid));
      FUZZ_CHECK(same_bytes(px->record, x->peers[j]->has_signedpeerrecord,
                            x->peers[j]->signedpeerrecord));
    }
  }
}

/* RPC.partial present or not, and each of its fields. */
static void check_partial(const lp2p_rpc *r,
                          const Fuzzrpc__PartialMessagesExtension *x) {
  FUZZ_CHECK(r->has_partial == (x != NULL));
  if (x) {
    const lp2p_rpc_partial *y = &r->partial;
    FUZZ_CHECK(same_bytes(y->topic, x->has_topicid, x->topicid));
    FUZZ_CHECK(same_bytes(y->group, x->has_groupid, x->groupid));
    FUZZ_CHECK(
        same_bytes(y->message, x->has_partialmessage, x->partialmessage));
    FUZZ_CHECK(same_bytes(y->metadata, x->has_partsmetadata, x->partsmetadata));
  }
}

/* Field k (0 to 3: topicID, groupID, partialMessage, partsMetadata) of a
 * PartialMessagesExtension: whether present, and its value. */
static protobuf_c_boolean
partial_field(const Fuzzrpc__PartialMessagesExtension *x, int k,
              ProtobufCBinaryData *v) {
  switch (k) {
  case 0:
    *v = x->topicid;
    return x->has_topicid;
  case 1:
    *v = x->groupid;
    return x->has_groupid;
  case 2:
    *v = x->partialmessage;
    return x->has_partialmessage;
  default:
    *v = x->partsmetadata;
    return x->has_partsmetadata;
  }
}

/* RPC.partial is an optional message: its occurrences merge, the last
 * present value of each field winning (proto2). protobuf-c 1.4.1 merges
 * bytes fields by their data pointers instead, which loses a present
 * empty field (its data is NULL) and lets an earlier value through a
 * later empty one; so lp2p's merge is checked here against protobuf-c's
 * decoding of each occurrence, merged by the proto2 rule. */
static void check_partial_merged(const lp2p_rpc *r, const uint8_t *data,
                                 size_t size) {
  Fuzzrpc__PartialMessagesExtension *occ[64];
  size_t n = 0;
  lp2p_pb_reader rd;
  lp2p_pb_field f;
  lp2p_pb_reader_init(&rd, data, size);
  while (lp2p_pb_next(&rd, &f) == 1) { /* well formed: both accepted it */
    if (f.num == LP2P_RPC_PARTIAL && n < 64) {
      occ[n] = fuzzrpc__partial_messages_extension__unpack(NULL, f.len, f.data);
      FUZZ_CHECK(occ[n] != NULL);
      n++;
    }
  }
  FUZZ_CHECK(r->has_partial == (n > 0));
  const lp2p_bytes got[4] = {r->partial.topic, r->partial.group,
                             r->partial.message, r->partial.metadata};
  for (int k = 0; k < 4 && n < 64; k++) {
    ProtobufCBinaryData want = {0, NULL}, v;
    protobuf_c_boolean has = 0;
    for (size_t i = 0; i < n; i++) {
      if (partial_field(occ[i], k, &v)) {
        has = 1;
        want = v;
      }
    }
    FUZZ_CHECK(same_bytes(got[k], has, want));
  }
  for (size_t i = 0; i < n; i++) {
    fuzzrpc__partial_messages_extension__free_unpacked(occ[i], NULL);
  }
}

static void check_same(const lp2p_rpc *r, const Fuzzrpc__RPC *m) {
  FUZZ_CHECK(r->subs.len == m->n_subscriptions);
  for (size_t i = 0; i < m->n_subscriptions; i++) {
    const Fuzzrpc__RPC__SubOpts *s = m->subscriptions[i];
    const lp2p_rpc_sub *y = &r->subs.items[i];
    FUZZ_CHECK(same_bytes(y->topic, s->has_topicid, s->topicid));
    FUZZ_CHECK(y->subscribe == (s->has_subscribe && s->subscribe));
    FUZZ_CHECK(y->requests_partial ==
               (s->has_requestspartial && s->requestspartial));
    FUZZ_CHECK(y->supports_partial ==
               (s->has_supportssendingpartial && s->supportssendingpartial));
  }
  FUZZ_CHECK(r->has_partial == (m->partial != NULL));
  FUZZ_CHECK(r->msgs.len == m->n_publish);
  for (size_t i = 0; i < m->n_publish; i++) {
    const Fuzzrpc__Message *x = m->publish[i];
    const lp2p_rpc_msg *y = &r->msgs.items[i];
    FUZZ_CHECK(same_bytes(y->from, x->has_from, x->from));
    FUZZ_CHECK(same_bytes(y->data, x->has_data, x->data));
    FUZZ_CHECK(same_bytes(y->seqno, x->has_seqno, x->seqno));
    FUZZ_CHECK(same_bytes(y->topic, x->has_topic, x->topic));
    FUZZ_CHECK(same_bytes(y->signature, x->has_signature, x->signature));
    FUZZ_CHECK(same_bytes(y->key, x->has_key, x->key));
  }
  check_control(r, m->control);
  FUZZ_CHECK(r->test_extension == (m->testextension != NULL));
}

/* ---- re-encoding with lp2p's encoders ------------------------------------ */

/* The entries of one IHAVE/IWANT/IDONTWANT (the array is NULL while no RPC
 * had any id, and NULL + 0 is undefined). */
static const lp2p_bytes *ids_of(const lp2p_rpc *r, const lp2p_rpc_ids *e) {
  return e->count ? r->ids.items + e->first : NULL;
}

static void encode(const lp2p_rpc *r, lp2p_buf *out) {
  lp2p_buf tmp, ctl;
  lp2p_buf_init(&tmp, NULL);
  lp2p_buf_init(&ctl, NULL);
  for (size_t i = 0; i < r->subs.len; i++) {
    const lp2p_rpc_sub *s = &r->subs.items[i];
    FUZZ_CHECK(lp2p_rpc_put_sub_partial(out, s) == 0);
  }
  for (size_t i = 0; i < r->msgs.len; i++) {
    lp2p_buf_truncate(&tmp, 0);
    FUZZ_CHECK(lp2p_rpc_put_message_body(&tmp, &r->msgs.items[i]) == 0);
    FUZZ_CHECK(lp2p_rpc_put_publish(out, tmp.data, tmp.len) == 0);
  }
  for (size_t i = 0; i < r->ihave.len; i++) {
    const lp2p_rpc_ids *e = &r->ihave.items[i];
    FUZZ_CHECK(lp2p_ctl_put_ihave(&ctl, e->topic.data, e->topic.len,
                                  ids_of(r, e), e->count) == 0);
  }
  for (size_t i = 0; i < r->iwant.len; i++) {
    const lp2p_rpc_ids *e = &r->iwant.items[i];
    FUZZ_CHECK(lp2p_ctl_put_ids(&ctl, LP2P_CTL_IWANT, ids_of(r, e), e->count) ==
               0);
  }
  for (size_t i = 0; i < r->graft.len; i++) {
    FUZZ_CHECK(lp2p_ctl_put_graft(&ctl, r->graft.items[i].data,
                                  r->graft.items[i].len) == 0);
  }
  for (size_t i = 0; i < r->prune.len; i++) {
    const lp2p_rpc_prune *p = &r->prune.items[i];
    FUZZ_CHECK(lp2p_ctl_put_prune(&ctl, p->topic.data, p->topic.len, p->backoff,
                                  p->npx ? r->px.items + p->first_px : NULL,
                                  p->npx) == 0);
  }
  for (size_t i = 0; i < r->idontwant.len; i++) {
    const lp2p_rpc_ids *e = &r->idontwant.items[i];
    FUZZ_CHECK(lp2p_ctl_put_ids(&ctl, LP2P_CTL_IDONTWANT, ids_of(r, e),
                                e->count) == 0);
  }
  if (r->has_extensions) {
    FUZZ_CHECK(lp2p_ctl_put_extensions(&ctl, &r->ext) == 0);
  }
  if (ctl.len) {
    FUZZ_CHECK(lp2p_rpc_put_control(out, ctl.data, ctl.len) == 0);
  }
  if (r->has_partial) {
    FUZZ_CHECK(lp2p_rpc_put_partial(out, &r->partial) == 0);
  }
  if (r->test_extension) {
    FUZZ_CHECK(lp2p_rpc_put_test_extension(out) == 0);
  }
  lp2p_buf_free(&tmp);
  lp2p_buf_free(&ctl);
}

static int eq(lp2p_bytes a, lp2p_bytes b) {
  return (a.data != NULL) == (b.data != NULL) && a.len == b.len &&
         (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

/* The encoders always write the topic of IHAVE, GRAFT and PRUNE (lp2p
 * never sends them without one), so an absent topic comes back present
 * and empty. */
static int eq_topic(lp2p_bytes a, lp2p_bytes b) {
  return b.data != NULL && a.len == b.len &&
         (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

static int eq_ids(const lp2p_rpc *a, const lp2p_rpc_ids *x, const lp2p_rpc *b,
                  const lp2p_rpc_ids *y) {
  if (x->count != y->count) {
    return 0;
  }
  for (size_t i = 0; i < x->count; i++) {
    if (!eq(a->ids.items[x->first + i], b->ids.items[y->first + i])) {
      return 0;
    }
  }
  return 1;
}

/* `b` is the decoding of encode(`a`). */
static void check_reencoded(const lp2p_rpc *a, const lp2p_rpc *b) {
  FUZZ_CHECK(a->subs.len == b->subs.len && a->msgs.len == b->msgs.len);
  for (size_t i = 0; i < a->subs.len; i++) {
    FUZZ_CHECK(eq(a->subs.items[i].topic, b->subs.items[i].topic));
    FUZZ_CHECK(a->subs.items[i].subscribe == b->subs.items[i].subscribe);
    FUZZ_CHECK(a->subs.items[i].requests_partial ==
                   b->subs.items[i].requests_partial &&
               a->subs.items[i].supports_partial ==
                   b->subs.items[i].supports_partial);
  }
  FUZZ_CHECK(a->has_partial == b->has_partial);
  FUZZ_CHECK(eq(a->partial.topic, b->partial.topic) &&
             eq(a->partial.group, b->partial.group));
  FUZZ_CHECK(eq(a->partial.message, b->partial.message) &&
             eq(a->partial.metadata, b->partial.metadata));
  for (size_t i = 0; i < a->msgs.len; i++) {
    const lp2p_rpc_msg *x = &a->msgs.items[i], *y = &b->msgs.items[i];
    FUZZ_CHECK(eq(x->from, y->from) && eq(x->data, y->data));
    FUZZ_CHECK(eq(x->seqno, y->seqno) && eq(x->topic, y->topic));
    FUZZ_CHECK(eq(x->signature, y->signature) && eq(x->key, y->key));
  }
  FUZZ_CHECK(a->ihave.len == b->ihave.len && a->iwant.len == b->iwant.len);
  FUZZ_CHECK(a->graft.len == b->graft.len && a->prune.len == b->prune.len);
  FUZZ_CHECK(a->idontwant.len == b->idontwant.len);
  FUZZ_CHECK(a->has_extensions == b->has_extensions &&
             a->test_extension == b->test_extension);
  FUZZ_CHECK(a->ext.partial_messages == b->ext.partial_messages &&
             a->ext.test_extension == b->ext.test_extension);
  for (size_t i = 0; i < a->ihave.len; i++) {
    FUZZ_CHECK(eq_topic(a->ihave.items[i].topic, b->ihave.items[i].topic));
    FUZZ_CHECK(eq_ids(a, &a->ihave.items[i], b, &b->ihave.items[i]));
  }
  for (size_t i = 0; i < a->iwant.len; i++) {
    FUZZ_CHECK(eq_ids(a, &a->iwant.items[i], b, &b->iwant.items[i]));
  }
  for (size_t i = 0; i < a->idontwant.len; i++) {
    FUZZ_CHECK(eq_ids(a, &a->idontwant.items[i], b, &b->idontwant.items[i]));
  }
  for (size_t i = 0; i < a->graft.len; i++) {
    FUZZ_CHECK(eq_topic(a->graft.items[i], b->graft.items[i]));
  }
  for (size_t i = 0; i < a->prune.len; i++) {
    const lp2p_rpc_prune *x = &a->prune.items[i], *y = &b->prune.items[i];
    FUZZ_CHECK(eq_topic(x->topic, y->topic) && x->backoff == y->backoff);
    FUZZ_CHECK(x->npx == y->npx);
    for (size_t j = 0; j < x->npx; j++) {
      const lp2p_rpc_px *p = &a->px.items[x->first_px + j];
      const lp2p_rpc_px *q = &b->px.items[y->first_px + j];
      FUZZ_CHECK(eq(p->peer_id, q->peer_id) && eq(p->record, q->record));
    }
  }
}

/* ---- the target ---------------------------------------------------------- */

static const lp2p_rpc_limits unlimited = {SIZE_MAX, SIZE_MAX, SIZE_MAX,
                                          SIZE_MAX, SIZE_MAX, SIZE_MAX,
                                          SIZE_MAX, SIZE_MAX};

static int has_sub_without_topic(const Fuzzrpc__RPC *m) {
  for (size_t i = 0; i < m->n_subscriptions; i++) {
    if (!m->subscriptions[i]->has_topicid) {
      return 1;
    }
  }
  return 0;
}

static void roundtrips(const lp2p_rpc *rpc) {
  lp2p_rpc again, third;
  lp2p_buf b1, b2;
  lp2p_rpc_init(&again, NULL);
  lp2p_rpc_init(&third, NULL);
  lp2p_buf_init(&b1, NULL);
  lp2p_buf_init(&b2, NULL);
  encode(rpc, &b1);
  FUZZ_CHECK(lp2p_rpc_decode(&again, b1.data, b1.len, &unlimited) == 0);
  check_reencoded(rpc, &again);
  /* lp2p's encoding is canonical: encoding its decoding changes nothing */
  encode(&again, &b2);
  FUZZ_CHECK(b1.len == b2.len &&
             (b1.len == 0 || memcmp(b1.data, b2.data, b1.len) == 0));
  FUZZ_CHECK(lp2p_rpc_decode(&third, b2.data, b2.len, &unlimited) == 0);
  lp2p_rpc_free(&again);
  lp2p_rpc_free(&third);
  lp2p_buf_free(&b1);
  lp2p_buf_free(&b2);
}

/* protobuf-c's canonical encoding of its message reads the same in lp2p. */
static void check_pbc_packed(const Fuzzrpc__RPC *m) {
  size_t n = fuzzrpc__rpc__get_packed_size(m);
  uint8_t *buf = malloc(n + 1);
  lp2p_rpc rpc;
  FUZZ_CHECK(buf != NULL);
  FUZZ_CHECK(fuzzrpc__rpc__pack(m, buf) == n);
  lp2p_rpc_init(&rpc, NULL);
  FUZZ_CHECK(lp2p_rpc_decode(&rpc, buf, n, &unlimited) == 0);
  check_same(&rpc, m);
  check_partial(&rpc, m->partial); /* one occurrence: no merge */
  lp2p_rpc_free(&rpc);
  free(buf);
}

static size_t min_size(size_t a, size_t b) {
  return a < b ? a : b;
}

static size_t control_len(const lp2p_rpc *r) {
  return r->ihave.len + r->iwant.len + r->graft.len + r->prune.len +
         r->idontwant.len;
}

/* Property 5: `full` is the unlimited decoding of the input (rv `rv`). */
static void check_truncation(const uint8_t *data, size_t size, int rv,
                             const lp2p_rpc *full) {
  static const lp2p_rpc_limits small = {SIZE_MAX, 2, 2,        3,
                                        4,        2, SIZE_MAX, SIZE_MAX};
  lp2p_rpc rpc;
  lp2p_rpc_init(&rpc, NULL);
  FUZZ_CHECK(lp2p_rpc_decode(&rpc, data, size, &small) == rv);
  if (rv == 0) {
    FUZZ_CHECK(rpc.subs.len == min_size(full->subs.len, 2));
    FUZZ_CHECK(rpc.msgs.len == min_size(full->msgs.len, 2));
    FUZZ_CHECK(control_len(&rpc) == min_size(control_len(full), 3));
    FUZZ_CHECK(rpc.ids.len <= 4 && rpc.px.len <= 2);
    for (size_t i = 0; i < rpc.subs.len; i++) {
      FUZZ_CHECK(rpc.subs.items[i].topic.data ==
                     full->subs.items[i].topic.data &&
                 rpc.subs.items[i].subscribe == full->subs.items[i].subscribe);
    }
    for (size_t i = 0; i < rpc.msgs.len; i++) {
      FUZZ_CHECK(rpc.msgs.items[i].raw.data == full->msgs.items[i].raw.data);
    }
    bool over = full->subs.len > 2 || full->msgs.len > 2 ||
                control_len(full) > 3 || full->ids.len > 4 || full->px.len > 2;
    FUZZ_CHECK((rpc.truncated > 0) == over);
  }
  lp2p_rpc_free(&rpc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lp2p_rpc rpc;
  lp2p_rpc_init(&rpc, NULL);
  int rv = lp2p_rpc_decode(&rpc, data, size, &unlimited);
  Fuzzrpc__RPC *m = fuzzrpc__rpc__unpack(NULL, size, data);
  unsigned q = scan(K_RPC, data, size);
  int lp2p_ok = rv == 0, pbc_ok = m != NULL;
  int want_lp2p = !(q & (Q_BOTH | Q_LP2P | Q_NOTOPIC));
  int want_pbc = !(q & (Q_BOTH | Q_PBC));
  if (lp2p_ok != want_lp2p || pbc_ok != want_pbc) {
    fprintf(stderr,
            "fuzz_rpc: lp2p %s (%d), protobuf-c %s, known differences "
            "0x%x predict lp2p %s, protobuf-c %s\n",
            lp2p_ok ? "accepts" : "rejects", rv, pbc_ok ? "accepts" : "rejects",
            q, want_lp2p ? "accepts" : "rejects",
            want_pbc ? "accepts" : "rejects");
  }
  FUZZ_CHECK(lp2p_ok == want_lp2p);
  FUZZ_CHECK(pbc_ok == want_pbc);
  if (!lp2p_ok) {
    FUZZ_CHECK(rv == LP2P_ERR_TRUNCATED || rv == LP2P_ERR_OVERLONG ||
               rv == LP2P_ERR_MALFORMED || rv == LP2P_ERR_WRONG_TYPE);
    /* a rejected RPC leaves nothing behind */
    FUZZ_CHECK(rpc.subs.len == 0 && rpc.msgs.len == 0 && rpc.ids.len == 0);
  }
  if (pbc_ok) {
    /* the difference that lets protobuf-c accept is really there */
    FUZZ_CHECK(!(q & Q_NOTOPIC) == !has_sub_without_topic(m));
  }
  if (lp2p_ok && pbc_ok) {
    check_same(&rpc, m);
    check_partial_merged(&rpc, data, size);
    check_pbc_packed(m);
  }
  if (lp2p_ok) {
    roundtrips(&rpc);
  }
  check_truncation(data, size, rv, &rpc);
  if (m) {
    fuzzrpc__rpc__free_unpacked(m, NULL);
  }
  lp2p_rpc_free(&rpc);
  return 0;
}
