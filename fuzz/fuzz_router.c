/* The GossipSub router as a state machine: one router with small limits,
 * driven by the fuzz input read as a list of operations (peers come and
 * go, topics are joined and left, time passes and heartbeats run, we
 * publish, peers send RPCs, raw or assembled with lp2p's encoders from
 * pools of topics, message data and ids that collide with real ones, we
 * pull what is queued, pending validations are answered).
 *
 * After every operation the router's internals must hold what its code
 * promises (check_state); every pulled frame must be one varint-framed RPC
 * of at most max_rpc_size that lp2p_rpc_decode accepts, with only what the
 * peer's protocol knows (check_frame); callbacks check what is true when
 * they run (grafting never while backing off: on_event). The settings come
 * from the first bytes: StrictNoSign with sha256 ids (the fuzzer makes
 * valid messages without signatures) or StrictSign with real Ed25519
 * signatures, flood publish, PX, a validator, sizes, and peer scoring
 * (app scores and shared addresses set by the input, topic score
 * parameters set by it).
 *
 * With scoring on it also checks that every score is finite and the
 * gates: graylisted RPCs ignored whole (never a direct peer's), PX taken
 * only at or above accept_px and never sent to a peer with a negative
 * score, disconnects asked only below graylist and never of a direct
 * peer, our messages to peers below the publish threshold only through
 * the mesh.
 *
 * Partial messages (gossipsub v1.3) run in every router: peers
 * advertise the extension or not and subscribe requesting or supporting
 * parts, send RPC.partial for a few group ids, and we join topics with a
 * partial mode and publish groups; the callbacks publish back from inside
 * (as an application answering a peer, and the heartbeat's gossip).
 * Frames must carry RPC.partial alone, only to 1.3 peers, within the
 * size limits.
 *
 * It found five bugs in src/gossipsub (a use after free on a GRAFT from an
 * unsubscribed peer, GRAFTs to backed-off fanout peers on join, messages
 * and control entries too large for any RPC, scores washed by a new
 * address), each now with a unit test in tests/unit. */
#include <math.h>
#include <string.h>

#include "fuzz.h"
#include "gossipsub/backoff.h"
#include "gossipsub/dontwant.h"
#include "gossipsub/message.h"
#include "gossipsub/partial.h"
#include "gossipsub/peer.h"
#include "gossipsub/router.h"
#include "gossipsub/score.h"
#include "gossipsub/seen.h"
#include "gossipsub/topic.h"
#include "lp2p/record.h"
#include "net/pubsub_stream.h"
#include "pb/rpc.h"
#include "pb/wire.h"

#define T0 (1000 * LP2P_SECONDS)
#define NPEERS 10          /* peers the input may add (max_peers is 8) */
#define NIDENT 12          /* identities: the peers, then two PX-only ones */
#define SELF NIDENT        /* the router's own identity */
#define NTOPICS 4          /* topic names we join, publish on, peers use */
#define NIDS 16            /* message ids remembered for control messages */
#define NBLOBS 8           /* message data remembered to make duplicates */
#define BLOB_MAX 48        /* bytes of remembered message data */
#define NPEND 8            /* pending validations remembered */
#define MAX_OPS 512        /* operations per input */
#define MAX_FRAMES 64      /* frames pulled per pull operation */
#define MAX_BEATS 64       /* heartbeats run one by one per time step */
#define QUEUED_FIELD_MAX 6 /* a control field's header in an RPC */

static const char *const topic_names[NTOPICS] = {"a", "bb", "topic-c", "d"};

/* ---- identities, made once ----------------------------------------------- */

static lp2p_privkey keys[NIDENT + 1];
static lp2p_peer_id ids[NIDENT + 1];
static lp2p_buf records[NIDENT + 1]; /* signed peer records, kept forever */
static int identities_ready;

static void make_identities(void) {
  for (int i = 0; i <= NIDENT; i++) {
    uint8_t seed[32] = {(uint8_t)(i + 1), 0x5a};
    lp2p_pubkey pub;
    lp2p_peer_record rec;
    FUZZ_CHECK(lp2p_privkey_from_seed(LP2P_KEY_ED25519, seed, &keys[i]) == 0);
    FUZZ_CHECK(lp2p_privkey_public(&keys[i], &pub) == 0);
    FUZZ_CHECK(lp2p_peer_id_from_pubkey(&pub, &ids[i]) == 0);
    memset(&rec, 0, sizeof(rec));
    rec.peer_id = ids[i];
    rec.seq = 1;
    lp2p_buf_init(&records[i], NULL);
    FUZZ_CHECK(lp2p_peer_record_seal(&keys[i], &rec, &records[i]) == 0);
  }
  identities_ready = 1;
}

static int ident_index(const lp2p_peer_id *id) {
  for (int i = 0; i <= NIDENT; i++) {
    if (lp2p_peer_id_equal(id, &ids[i])) {
      return i;
    }
  }
  return -1;
}

/* ---- the harness --------------------------------------------------------- */

enum { OP_OTHER, OP_RECV };

typedef struct blob {
  uint8_t data[BLOB_MAX];
  size_t len;
} blob;

typedef struct idbuf {
  uint8_t id[256];
  size_t len;
} idbuf;

static struct harness {
  const uint8_t *p; /* the unread input */
  size_t n;
  lp2p_router *r;
  lp2p_tstamp now;
  uint64_t rand_state;
  int sign;           /* StrictSign */
  int records;        /* the peer_record callback offers records */
  int scoring;        /* peer scoring on */
  double app[NPEERS]; /* P5 of each peer (the app_score callback) */
  int op, from;       /* the operation running, and the sender in OP_RECV */
  int added[NPEERS];
  /* a PX list was put together while the peer's score was >= 0, since
   * its queue was last empty (only then may a frame to it carry PX) */
  int px_ok[NPEERS];
  lp2p_peer_info info[NPEERS];
  size_t npeers;
  int joined[NTOPICS];
  idbuf ids[NIDS];
  size_t nids, next_id;
  blob blobs[NBLOBS];
  size_t nblobs, next_blob;
  idbuf pend[NPEND];
  size_t npend;
  uint64_t seqno;
  lp2p_router_stats last;
  lp2p_rpc dec; /* decoder scratch for pulled frames */
} H;

static uint8_t u8(void) {
  if (H.n == 0) {
    return 0;
  }
  H.n--;
  return *H.p++;
}

/* Up to `max` bytes of input, their length from one byte. */
static size_t take(size_t max, const uint8_t **out) {
  size_t len = u8();
  if (len > max) {
    len %= max + 1;
  }
  if (len > H.n) {
    len = H.n;
  }
  *out = H.p;
  H.p += len;
  H.n -= len;
  return len;
}

static void fuzz_rand(uint8_t *dest, size_t len, void *user) {
  uint64_t *s = user;
  for (size_t i = 0; i < len; i++) {
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    dest[i] = (uint8_t)(*s >> 56);
  }
}

static void remember(idbuf *arr, size_t cap, size_t *n, size_t *next,
                     const uint8_t *id, size_t len) {
  if (len == 0 || len > sizeof(arr[0].id)) {
    return;
  }
  idbuf *slot = &arr[*next];
  *next = (*next + 1) % cap;
  if (*n < cap) {
    (*n)++;
  }
  memcpy(slot->id, id, len);
  slot->len = len;
}

static void remember_id(const uint8_t *id, size_t len) {
  remember(H.ids, NIDS, &H.nids, &H.next_id, id, len);
}

static void remember_blob(const uint8_t *data, size_t len) {
  blob *b = &H.blobs[H.next_blob];
  H.next_blob = (H.next_blob + 1) % NBLOBS;
  if (H.nblobs < NBLOBS) {
    H.nblobs++;
  }
  b->len = len < BLOB_MAX ? len : BLOB_MAX;
  memcpy(b->data, data, b->len);
}

static const lp2p_router_limits *limits(void) {
  return &H.r->s.limits;
}

static const lp2p_router_params *params(void) {
  return &H.r->s.params;
}

/* ---- callbacks ----------------------------------------------------------- */

static void on_deliver(lp2p_router *r, const lp2p_message *msg, void *user) {
  (void)user;
  /* only messages of topics we joined reach the application */
  gs_topic *t = lp2p_map_get(&r->topics, msg->topic.data, msg->topic.len);
  FUZZ_CHECK(t && t->joined);
  FUZZ_CHECK(msg->id.len >= 1 && msg->id.len <= r->s.limits.max_id_len);
  /* sha256 ids need the data; from-seqno ids do not */
  FUZZ_CHECK(msg->data.data || r->s.msg_id != LP2P_MSG_ID_SHA256);
  if (r->s.sign_policy == LP2P_STRICT_NO_SIGN) {
    FUZZ_CHECK(!msg->from.data && !msg->seqno.data);
  }
  remember_id(msg->id.data, msg->id.len);
}

static lp2p_validation on_validate(lp2p_router *r, const lp2p_message *msg,
                                   void *user) {
  (void)r;
  (void)user;
  FUZZ_CHECK(msg->received_from != NULL);
  remember_id(msg->id.data, msg->id.len);
  lp2p_validation v = (lp2p_validation)(u8() % 4);
  if (v == LP2P_VALIDATION_PENDING && msg->id.len <= sizeof(H.pend[0].id)) {
    /* the list keeps the first NPEND - 1 and the latest */
    idbuf *slot = &H.pend[H.npend < NPEND ? H.npend++ : NPEND - 1];
    memcpy(slot->id, msg->id.data, msg->id.len);
    slot->len = msg->id.len;
  }
  return v;
}

static void on_want_write(lp2p_router *r, const lp2p_peer_id *peer,
                          void *peer_user, void *user) {
  (void)user;
  gs_peer *p = lp2p_gs_peer_find(r, peer);
  FUZZ_CHECK(p != NULL && p->user == peer_user);
}

static void on_connect(lp2p_router *r, const lp2p_peer_id *peer,
                       const uint8_t *record, size_t record_len, void *user) {
  (void)user;
  (void)record_len;
  /* only PX asks to connect here (no direct peers), never to ourselves or
   * to a connected peer; an entry with a record only when the record
   * verified, so for one of the identities that can sign (an entry
   * without one is offered by id alone, as go) */
  int i = ident_index(peer);
  FUZZ_CHECK(record == NULL || (i >= 0 && i < NIDENT));
  FUZZ_CHECK(!lp2p_peer_id_equal(peer, &r->self));
  FUZZ_CHECK(!lp2p_gs_peer_find(r, peer));
}

/* The router asks for records only while it puts a PX list together for
 * a PRUNE: whoever the PRUNE is for has its score now, so a peer whose
 * score is negative at every such moment must never be sent PX. */
static void note_px_scores(lp2p_router *r) {
  for (int k = 0; k < NPEERS; k++) {
    gs_peer *p = H.added[k] ? lp2p_gs_peer_find(r, &ids[k]) : NULL;
    if (p && lp2p_gs_score(r, p) >= 0) {
      H.px_ok[k] = 1;
    }
  }
}

static size_t on_peer_record(lp2p_router *r, const lp2p_peer_id *peer,
                             const uint8_t **rec, void *user) {
  (void)user;
  note_px_scores(r);
  int i = ident_index(peer);
  if (!H.records || i < 0) {
    return 0;
  }
  *rec = records[i].data;
  return records[i].len;
}

static double on_app_score(lp2p_router *r, const lp2p_peer_id *peer,
                           void *user) {
  (void)r;
  (void)user;
  int i = ident_index(peer);
  FUZZ_CHECK(i >= 0 && i < NPEERS);
  return H.app[i];
}

static void on_disconnect(lp2p_router *r, const lp2p_peer_id *peer,
                          void *peer_user, void *user) {
  (void)user;
  /* a connected peer, below the graylist threshold, never a direct one
   * (as go: their RPCs are always accepted) */
  gs_peer *p = lp2p_gs_peer_find(r, peer);
  FUZZ_CHECK(p && p->user == peer_user && H.scoring && !p->direct);
  FUZZ_CHECK(lp2p_gs_score(r, p) < r->score.p.thresholds.graylist);
}

/* Grafting is never done while backing off. The router grafts a peer by
 * itself (heartbeat, join, new subscriptions) only when its backoff is
 * over (graftable() in heartbeat.c); it accepts a peer's GRAFT up to two
 * heartbeats before the end of the backoff (handle_one_graft in
 * control.c: "until > now + 2 * backoff_slack" refuses). */
static void on_event(lp2p_router *r, const lp2p_router_event *ev, void *user) {
  (void)user;
  if (ev->type != LP2P_EV_GRAFT) {
    return;
  }
  gs_topic *t = lp2p_map_get(&r->topics, ev->topic.data, ev->topic.len);
  FUZZ_CHECK(t && t->joined);
  int by_peer = H.op == OP_RECV && lp2p_peer_id_equal(ev->peer, &ids[H.from]);
  lp2p_tstamp slack = by_peer ? 2 * r->s.params.heartbeat_interval : 0;
  lp2p_tstamp until = lp2p_gs_backoff_until(t, ev->peer);
  if (until > H.now + slack) {
    fprintf(stderr,
            "fuzz_router: GRAFT of peer %d on '%.*s' %s, %llu ms before the "
            "end of its backoff\n",
            ident_index(ev->peer), (int)ev->topic.len,
            (const char *)ev->topic.data,
            by_peer ? "asked by the peer" : "by the router",
            (unsigned long long)((until - H.now) / LP2P_MILLISECONDS));
  }
  FUZZ_CHECK(until <= H.now + slack);
}

/* ---- checking pulled frames ---------------------------------------------- */

static const lp2p_rpc_limits unlimited = {SIZE_MAX, SIZE_MAX, SIZE_MAX,
                                          SIZE_MAX, SIZE_MAX, SIZE_MAX,
                                          SIZE_MAX, SIZE_MAX};

/* lp2p_router_settings_default's receive limits (set up once). */
static lp2p_rpc_limits default_limits;

static void init_default_limits(void) {
  lp2p_router_settings s;
  lp2p_router_settings_default(&s);
  const lp2p_router_limits *l = &s.limits;
  default_limits =
      (lp2p_rpc_limits){l->max_rpc_size,  l->max_subscriptions, l->max_messages,
                        l->max_control,   l->max_ids,           l->max_px,
                        l->max_topic_len, l->max_id_len};
}

static void check_message(const lp2p_rpc_msg *m) {
  FUZZ_CHECK(m->raw.len <= limits()->max_message_size);
  FUZZ_CHECK(m->topic.data);
  FUZZ_CHECK(m->data.data || H.r->s.msg_id != LP2P_MSG_ID_SHA256);
  FUZZ_CHECK(m->topic.len <= limits()->max_topic_len);
  if (H.r->s.sign_policy == LP2P_STRICT_NO_SIGN) {
    FUZZ_CHECK(!m->from.data && !m->seqno.data && !m->signature.data &&
               !m->key.data);
  } else {
    FUZZ_CHECK(m->from.data && m->signature.data);
    FUZZ_CHECK(!m->seqno.data || m->seqno.len == 8);
  }
}

/* One frame pulled for peer `i`. */
static void check_frame(int i, const uint8_t *out, size_t n) {
  const uint8_t *pos;
  size_t len;
  lp2p_rpc *rpc = &H.dec;
  /* exactly one RPC, behind a minimal prefix */
  FUZZ_CHECK(lp2p__pubsub_unframe(out, n, &pos, &len) == 0);
  FUZZ_CHECK(len > 0 && len <= limits()->max_rpc_size);
  /* a receiver with default limits, and one with ours, take every RPC
   * whole: nothing over a count limit to skip */
  FUZZ_CHECK(lp2p_rpc_decode(rpc, pos, len, &default_limits) == 0);
  FUZZ_CHECK(rpc->truncated == 0);
  FUZZ_CHECK(lp2p_rpc_decode(rpc, pos, len, &H.r->rpc_limits) == 0);
  FUZZ_CHECK(rpc->truncated == 0);
  FUZZ_CHECK(lp2p_rpc_decode(rpc, pos, len, &unlimited) == 0);
  for (size_t k = 0; k < rpc->subs.len; k++) {
    FUZZ_CHECK(rpc->subs.items[k].topic.len >= 1);
    FUZZ_CHECK(rpc->subs.items[k].topic.len <= limits()->max_topic_len);
  }
  for (size_t k = 0; k < rpc->msgs.len; k++) {
    check_message(&rpc->msgs.items[k]);
  }
  lp2p_pubsub_proto proto = H.info[i].proto;
  size_t nctl = rpc->ihave.len + rpc->iwant.len + rpc->graft.len +
                rpc->prune.len + rpc->idontwant.len;
  /* floodsub knows no control messages, meshsub before 1.2 no IDONTWANT,
   * meshsub 1.0 neither PRUNE backoff nor PX */
  FUZZ_CHECK(proto != LP2P_FLOODSUB || nctl == 0);
  FUZZ_CHECK(proto >= LP2P_MESHSUB_12 || rpc->idontwant.len == 0);
  /* v1.3 extensions only to 1.3 peers */
  FUZZ_CHECK(
      proto >= LP2P_MESHSUB_13 ||
      (!rpc->has_extensions && !rpc->test_extension && !rpc->has_partial));
  /* RPC.partial: alone in its RPC (two would merge), within the limits */
  if (rpc->has_partial) {
    FUZZ_CHECK(rpc->subs.len == 0 && rpc->msgs.len == 0 && nctl == 0 &&
               !rpc->has_extensions && !rpc->test_extension);
    FUZZ_CHECK(rpc->partial.topic.len >= 1 && rpc->partial.group.len >= 1);
    FUZZ_CHECK(rpc->partial.message.len <= limits()->max_message_size);
    FUZZ_CHECK(rpc->partial.metadata.len <= limits()->max_partial_metadata);
    FUZZ_CHECK(rpc->partial.message.data || rpc->partial.metadata.len);
  }
  /* as go sends IDONTWANT: one entry of at most max_idontwant_length ids
   * in an RPC of its own */
  if (rpc->idontwant.len) {
    FUZZ_CHECK(rpc->idontwant.len == 1 && nctl == 1 && rpc->subs.len == 0 &&
               rpc->msgs.len == 0);
    FUZZ_CHECK(rpc->idontwant.items[0].count >= 1 &&
               rpc->idontwant.items[0].count <=
                   (size_t)params()->max_idontwant_length);
  }
  for (size_t k = 0; k < rpc->prune.len; k++) {
    const lp2p_rpc_prune *p = &rpc->prune.items[k];
    FUZZ_CHECK(proto >= LP2P_MESHSUB_11 || (p->backoff == 0 && p->npx == 0));
    /* no PX to a peer with a negative score (spec v1.1) */
    FUZZ_CHECK(p->npx == 0 || H.px_ok[i]);
    FUZZ_CHECK(p->npx <= (size_t)params()->prune_peers);
    FUZZ_CHECK(p->topic.len >= 1);
    for (size_t j = 0; j < p->npx; j++) {
      const lp2p_rpc_px *x = &rpc->px.items[p->first_px + j];
      lp2p_peer_id id;
      FUZZ_CHECK(
          lp2p_peer_id_from_bytes(x->peer_id.data, x->peer_id.len, &id) == 0);
      /* never the peer itself, never a floodsub peer */
      FUZZ_CHECK(!lp2p_peer_id_equal(&id, &ids[i]));
      int j2 = ident_index(&id);
      FUZZ_CHECK(j2 >= 0 && j2 < NPEERS);
    }
  }
  for (size_t k = 0; k < rpc->ihave.len; k++) {
    FUZZ_CHECK(rpc->ihave.items[k].count <= (size_t)params()->max_ihave_length);
  }
  for (size_t k = 0; k < rpc->ids.len; k++) {
    /* IWANTs repeat the ids of a peer's IHAVE, which may be empty */
    FUZZ_CHECK(rpc->ids.items[k].len <= limits()->max_id_len);
  }
}

/* After a frame to peer `i`: once its queue is empty, what was noted for
 * the PX lists of what it held no longer applies. */
static void pulled(int i) {
  if (lp2p_gs_queue_bytes(&lp2p_gs_peer_find(H.r, &ids[i])->q) == 0) {
    H.px_ok[i] = 0;
  }
}

static void pull_peer(int i, int max_frames) {
  for (int k = 0; k < max_frames; k++) {
    const uint8_t *out = NULL;
    ptrdiff_t n = lp2p_router_pull(H.r, &ids[i], &out, H.now);
    if (!H.added[i]) {
      FUZZ_CHECK(n == LP2P_ERR_NOT_FOUND);
      return;
    }
    FUZZ_CHECK(n >= 0);
    if (n == 0) {
      return;
    }
    check_frame(i, out, (size_t)n);
    pulled(i);
  }
}

static void pull_all(void) {
  for (int i = 0; i < NPEERS; i++) {
    if (H.added[i]) {
      pull_peer(i, 1000);
      /* a queue drains completely */
      FUZZ_CHECK(lp2p_gs_queue_bytes(&lp2p_gs_peer_find(H.r, &ids[i])->q) == 0);
    }
  }
}

/* ---- the router's state -------------------------------------------------- */

/* The ids (IHAVE, IWANT, IDONTWANT) or PX records (PRUNE) of an encoded
 * control entry. */
static void entry_counts(const lp2p_pb_field *f, size_t *nids, size_t *npx) {
  lp2p_pb_reader rd;
  lp2p_pb_field g;
  uint32_t num = f->num == LP2P_CTL_IHAVE || f->num == LP2P_CTL_PRUNE ? 2 : 1;
  if (f->num == LP2P_CTL_GRAFT) {
    return;
  }
  lp2p_pb_reader_init(&rd, f->data, f->len);
  while (lp2p_pb_next(&rd, &g) == 1) {
    if (g.num == num) {
      (*(f->num == LP2P_CTL_PRUNE ? npx : nids))++;
    }
  }
}

/* The encoded fields of queued entries: entries of the expected fields,
 * each small enough to be sent in one RPC and within a receiver's count
 * limits by itself, and counted right (the pull trusts the counts). */
static void check_entries(const gs_entries *e, uint32_t lo, uint32_t hi,
                          bool ctl) {
  lp2p_pb_reader rd;
  lp2p_pb_field f;
  int rv;
  size_t room = limits()->max_rpc_size - QUEUED_FIELD_MAX;
  size_t n = 0, nids = 0, npx = 0;
  lp2p_pb_reader_init(&rd, e->b.data, e->b.len);
  const uint8_t *start = rd.pos;
  while ((rv = lp2p_pb_next(&rd, &f)) == 1) {
    size_t ids1 = 0, px1 = 0;
    FUZZ_CHECK(f.wire_type == LP2P_PB_LEN && f.num >= lo && f.num <= hi);
    size_t size = (size_t)(rd.pos - start);
    /* what is queued can be sent (see known bug 4) */
    FUZZ_CHECK(size <= room);
    if (ctl) {
      entry_counts(&f, &ids1, &px1);
    }
    FUZZ_CHECK(ids1 <= H.r->send_limits.max_ids);
    FUZZ_CHECK(px1 <= H.r->send_limits.max_px);
    n++;
    nids += ids1;
    npx += px1;
    start = rd.pos;
  }
  FUZZ_CHECK(rv == 0);
  FUZZ_CHECK(n == e->n && nids == e->ids && npx == e->px);
}

static void check_queue(const gs_peer *p) {
  const gs_queue *q = &p->q;
  const lp2p_router_limits *l = limits();
  /* each kind has its bound: appends over it are undone, messages over
   * it refused; no slack at all */
  FUZZ_CHECK(q->msg_bytes <= l->queue_max_bytes);
  FUZZ_CHECK(q->subs.b.len + q->ctl.b.len <= l->queue_max_control_bytes);
  FUZZ_CHECK(q->gossip.b.len <= l->queue_max_gossip_bytes);
  FUZZ_CHECK(q->dontwant.n <= l->queue_max_idontwant);
  FUZZ_CHECK(q->len <= l->queue_max_messages && q->len <= q->cap);
  size_t bytes = 0;
  for (size_t i = 0; i < q->len; i++) {
    const gs_msg *m = q->msgs[(q->head + i) % q->cap];
    size_t size = lp2p_pb_len_field_size(LP2P_RPC_PUBLISH, m->f.raw.len);
    FUZZ_CHECK(m->refs >= 1 && m->f.raw.len <= l->max_message_size);
    /* a queued message fits in an RPC, or it can never be sent (see
     * known bug 3) */
    FUZZ_CHECK(size <= l->max_rpc_size);
    bytes += size;
  }
  FUZZ_CHECK(bytes == q->msg_bytes);
  check_entries(&q->subs, LP2P_RPC_SUBSCRIPTIONS, LP2P_RPC_SUBSCRIPTIONS,
                false);
  check_entries(&q->ctl, LP2P_CTL_GRAFT, LP2P_CTL_PRUNE, true);
  check_entries(&q->gossip, LP2P_CTL_IHAVE, LP2P_CTL_IWANT, true);
  check_entries(&q->dontwant, LP2P_CTL_IDONTWANT, LP2P_CTL_IDONTWANT, true);
}

static int no_dups(const gs_peers *s) {
  for (size_t i = 0; i < s->len; i++) {
    for (size_t j = i + 1; j < s->len; j++) {
      if (s->items[i] == s->items[j]) {
        return 0;
      }
    }
  }
  return 1;
}

static void check_peers(const gs_peers *s, const gs_topic *t, int mesh_like) {
  FUZZ_CHECK(no_dups(s) && s->len <= s->cap);
  for (size_t i = 0; i < s->len; i++) {
    const gs_peer *p = s->items[i];
    FUZZ_CHECK(lp2p_map_get(&H.r->peers, p->id.bytes, p->id.len) == p);
    FUZZ_CHECK(lp2p_gs_peer_subscribed(p, t));
    if (mesh_like) {
      /* mesh and fanout peers subscribe to the topic, speak meshsub and
       * are not direct peers */
      FUZZ_CHECK(lp2p_gs_peers_has(&t->peers, p));
      FUZZ_CHECK(lp2p_gs_peer_is_mesh(p->proto) && !p->direct);
    }
  }
}

/* A peer the heartbeat would graft into `t` (heartbeat.c's graftable). */
static int graftable(const gs_topic *t, const gs_peer *p) {
  return lp2p_gs_peer_is_mesh(p->proto) && !p->direct &&
         !lp2p_gs_peers_has(&t->mesh, p) &&
         !lp2p_gs_backoff_active(t, &p->id, H.now);
}

static int my_topic(const gs_topic *t) {
  for (int i = 0; i < NTOPICS; i++) {
    if (t->name_len == strlen(topic_names[i]) &&
        memcmp(t->name, topic_names[i], t->name_len) == 0) {
      return i;
    }
  }
  return -1;
}

static void check_topic(const gs_topic *t, int after_beat, size_t *nbackoff) {
  const lp2p_mesh_params *mp = lp2p_gs_topic_params(H.r, t);
  lp2p_tstamp slack = 2 * params()->heartbeat_interval;
  int opportunistic = H.scoring ? params()->opportunistic_graft_peers : 0;
  int mine = my_topic(t);
  FUZZ_CHECK(t->name_len <= limits()->max_topic_len);
  FUZZ_CHECK(t->joined == (mine >= 0 && H.joined[mine]));
  check_peers(&t->peers, t, 0);
  check_peers(&t->mesh, t, 1);
  check_peers(&t->fanout, t, 1);
  /* a mesh while joined, a fanout while not */
  FUZZ_CHECK(t->joined || t->mesh.len == 0);
  FUZZ_CHECK(!t->joined ||
             (t->fanout.len == 0 && t->fanout_expiry == LP2P_TSTAMP_NEVER));
  FUZZ_CHECK(t->fanout.len == 0 || t->fanout_expiry != LP2P_TSTAMP_NEVER);
  /* a peer's GRAFT is taken below Dhi, or from an outbound peer at any
   * size (handle_one_graft, as go); the router's own grafts stop at D or
   * at Dout outbound, and a heartbeat prunes back to D at Dhi
   * (lp2p_gs_rebalance), then opportunistic grafting may add
   * opportunistic_graft_peers (only with scoring: its threshold is 0
   * otherwise, as is every score). So at most Dhi + those inbound peers,
   * and Dhi + those in all after a heartbeat. lp2p_gs_fanout_fill stops at D.
   */
  FUZZ_CHECK((int)(t->mesh.len - lp2p_gs_peers_outbound(&t->mesh)) <=
             mp->d_hi + opportunistic);
  FUZZ_CHECK((int)t->fanout.len <= mp->d);
  for (size_t i = 0; i < t->mesh.len; i++) {
    /* no backoff is recorded for a mesh peer (PRUNE paths remove it from
     * the mesh first, GRAFT handling returns early for mesh peers), and
     * one was taken into the mesh at most 2 heartbeats before the end of
     * its backoff (see on_event) */
    FUZZ_CHECK(lp2p_gs_backoff_until(t, &t->mesh.items[i]->id) <=
               H.now + slack);
  }
  /* the backoff map: each entry keyed by its own peer's id (so no peer
   * twice), of a known peer, purged when it ends */
  size_t it = 0, nb = 0;
  lp2p_map_entry *e;
  while ((e = lp2p_map_next(&t->backoff, &it)) != NULL) {
    const gs_backoff *b = e->value;
    int k = ident_index(&b->peer);
    FUZZ_CHECK(k >= 0 && k < NPEERS);
    FUZZ_CHECK(e->key == b->peer.bytes && e->key_len == b->peer.len);
    FUZZ_CHECK(lp2p_map_get(&t->backoff, b->peer.bytes, b->peer.len) == b);
    FUZZ_CHECK(!after_beat || b->until > H.now);
    nb++;
  }
  FUZZ_CHECK(nb == t->backoff.count);
  *nbackoff += nb;
  if (!after_beat) {
    return;
  }
  /* the heartbeat frees a topic nothing refers to any more */
  FUZZ_CHECK(t->joined || t->peers.len || t->backoff.count || t->has_params ||
             t->fanout_expiry != LP2P_TSTAMP_NEVER ||
             lp2p_gs_partial_keeps(t));
  FUZZ_CHECK(t->joined || t->fanout_expiry == LP2P_TSTAMP_NEVER ||
             t->fanout_expiry > H.now);
  if (t->joined) {
    FUZZ_CHECK((int)t->mesh.len <= mp->d_hi + opportunistic);
    if ((int)t->mesh.len < mp->d_lo && !H.scoring) {
      /* below Dlo after a heartbeat only for want of candidates (with
       * scoring on, a score may change later in the same heartbeat, e.g.
       * when the app score is sampled again) */
      for (size_t i = 0; i < t->peers.len; i++) {
        FUZZ_CHECK(!graftable(t, t->peers.items[i]));
      }
    }
  }
}

static void check_seen(size_t *n_out, size_t *pend_out, int after_beat) {
  const lp2p_router *r = H.r;
  size_t n = 0, pend = 0;
  for (const gs_seen *e = r->seen_head; e; e = e->next) {
    n++;
    FUZZ_CHECK(n <= r->seen.len);
    FUZZ_CHECK(lp2p_u64map_get(&r->seen, e->hash) == e);
    FUZZ_CHECK(e->next || r->seen_tail == e);
    FUZZ_CHECK(!after_beat || e->expiry > H.now);
    if (e->pending) {
      pend++;
      FUZZ_CHECK(e->pending->refs >= 1 && e->pending->hash == e->hash);
    }
  }
  FUZZ_CHECK(n == r->seen.len && n <= limits()->max_seen);
  FUZZ_CHECK(pend == r->npending && pend <= limits()->max_pending_validations);
  *n_out = n;
  *pend_out = pend;
}

static size_t check_mcache(void) {
  const lp2p_router *r = H.r;
  size_t total = 0;
  for (size_t w = 0; w < (size_t)params()->history_length; w++) {
    for (size_t i = 0; i < r->window_len[w]; i++) {
      const gs_msg *m = r->windows[w][i];
      FUZZ_CHECK(lp2p_u64map_get(&r->mcache, m->hash) == m && m->refs >= 1);
      total++;
    }
  }
  FUZZ_CHECK(total == r->mcache.len);
  return total;
}

#define NSTATS (sizeof(lp2p_router_stats) / sizeof(uint64_t))
#define NGAUGES 15 /* the last fields of lp2p_router_stats */

static void check_stats(size_t npeers, size_t ntopics, size_t nmcache,
                        size_t nseen, size_t npend, uint64_t qbytes) {
  lp2p_router_stats st;
  uint64_t now[NSTATS], before[NSTATS];
  lp2p_router_get_stats(H.r, &st);
  FUZZ_CHECK(st.peers == npeers && st.topics == ntopics);
  FUZZ_CHECK(st.mcache_messages == nmcache && st.seen_entries == nseen);
  FUZZ_CHECK(st.pending_validations == npend && st.queued_bytes == qbytes);
  FUZZ_CHECK(st.peers_congested <= st.peers);
  /* each joined topic is in exactly one mesh-size class */
  size_t joined = 0;
  for (int i = 0; i < NTOPICS; i++) {
    joined += H.joined[i] != 0;
  }
  FUZZ_CHECK(st.topics_mesh_empty + st.topics_mesh_low +
                 st.topics_mesh_healthy + st.topics_mesh_high ==
             joined);
  FUZZ_CHECK(st.topics_mesh_under_dout <= joined);
  FUZZ_CHECK(st.mcache_gossip_messages <= st.mcache_messages);
  FUZZ_CHECK(st.backoff_entries == H.r->nbackoff);
  FUZZ_CHECK(st.iwant_invalid ==
             st.iwant_not_found + st.iwant_over_retransmission);
  memcpy(now, &st, sizeof(st));
  memcpy(before, &H.last, sizeof(st));
  for (size_t i = 0; i < NSTATS - NGAUGES; i++) {
    FUZZ_CHECK(now[i] >= before[i]); /* counters never go back */
  }
  H.last = st;
  for (int i = 0; i < NTOPICS; i++) {
    const uint8_t *name = (const uint8_t *)topic_names[i];
    size_t len = strlen(topic_names[i]);
    gs_topic *t = lp2p_map_get(&H.r->topics, name, len);
    lp2p_topic_stats ts;
    int rv = lp2p_router_topic_stats(H.r, name, len, &ts);
    FUZZ_CHECK((rv == 0) == (t != NULL));
    if (t) {
      FUZZ_CHECK(ts.joined == t->joined && ts.peers == t->peers.len &&
                 ts.mesh == t->mesh.len && ts.fanout == t->fanout.len);
      FUZZ_CHECK(lp2p_router_mesh_peers(H.r, name, len, NULL, 0) ==
                 t->mesh.len);
    }
  }
}

/* The list of peers with bytes queued (lp2p_router_pull_next): a proper
 * list of distinct connected peers, holding every peer with bytes queued
 * (it may hold some whose queue lp2p_router_pull emptied). */
static void check_dontwant_entry(uint64_t key, void **val, void *arg) {
  const gs_dontwant *d = *val;
  const lp2p_router *r = arg;
  uint32_t age = r->beat - d->beat;
  (void)key;
  FUZZ_CHECK(age < (uint32_t)r->s.params.idontwant_message_ttl);
  FUZZ_CHECK(d->n > 0 && d->n <= d->cap && d->serials[0] < r->next_serial);
  for (uint32_t i = 1; i < d->n; i++) {
    FUZZ_CHECK(d->serials[i] < r->next_serial);
    for (uint32_t j = 0; j < i; j++) {
      FUZZ_CHECK(d->serials[j] != d->serials[i]);
    }
  }
}

/* IDONTWANT entries: none kept past idontwant_message_ttl heartbeats after
 * their last IDONTWANT, each peer listed once; with the cap per peer and
 * heartbeat, that bounds the table. */
static void check_dontwant(void) {
  lp2p_u64map_each(&H.r->dontwant, check_dontwant_entry, H.r);
}

static void check_ready(size_t npeers) {
  const lp2p_router *r = H.r;
  size_t n = 0;
  const gs_peer *prev = NULL;
  for (const gs_peer *p = r->ready_head; p; p = p->ready_next) {
    FUZZ_CHECK(++n <= npeers);
    FUZZ_CHECK(p->ready && p->ready_prev == prev);
    FUZZ_CHECK(lp2p_map_get(&r->peers, p->id.bytes, p->id.len) == p);
    prev = p;
  }
  FUZZ_CHECK(r->ready_tail == prev);
  size_t it = 0, nready = 0;
  lp2p_map_entry *e;
  while ((e = lp2p_map_next(&r->peers, &it)) != NULL) {
    const gs_peer *p = e->value;
    nready += p->ready;
    FUZZ_CHECK(p->ready || lp2p_gs_queue_bytes(&p->q) == 0);
  }
  FUZZ_CHECK(nready == n);
  FUZZ_CHECK(lp2p_router_has_pending(r) == (n > 0));
}

/* Score records: one per connected peer, its own, and retained ones of
 * gone peers while scoring is on. */
static void check_scores(void) {
  const lp2p_router *r = H.r;
  size_t it = 0, connected = 0;
  lp2p_map_entry *e;
  FUZZ_CHECK(r->score.on == H.scoring);
  while ((e = lp2p_map_next(&r->score.peers, &it)) != NULL) {
    const gs_speer *sp = e->value;
    int i = ident_index(&sp->id);
    FUZZ_CHECK(i >= 0 && i < NPEERS);
    const gs_peer *p = lp2p_map_get(&r->peers, sp->id.bytes, sp->id.len);
    FUZZ_CHECK(sp->connected == (p != NULL) && (!p || p->sp == sp));
    FUZZ_CHECK(sp->connected || H.scoring); /* kept only with scoring */
    connected += sp->connected;
  }
  FUZZ_CHECK(connected == r->peers.count);
  it = 0;
  while ((e = lp2p_map_next(&r->peers, &it)) != NULL) {
    const gs_peer *p = e->value;
    FUZZ_CHECK(p->sp && lp2p_peer_id_equal(&p->sp->id, &p->id));
    double score = lp2p_gs_score(r, p);
    FUZZ_CHECK(isfinite(score));
    FUZZ_CHECK(H.scoring || score == 0);
    FUZZ_CHECK(lp2p_router_peer_score(r, &p->id) == score);
  }
}

static void check_state(int after_beat) {
  lp2p_router *r = H.r;
  const lp2p_router_limits *l = limits();
  const lp2p_router_params *pp = params();
  size_t it = 0, npeers = 0, ntopics = 0, nseen, npend, nrelay_all = 0;
  uint64_t qbytes = 0;
  lp2p_map_entry *e;
  FUZZ_CHECK(lp2p_router_expiry(r) > H.now);
  while ((e = lp2p_map_next(&r->peers, &it)) != NULL) {
    const gs_peer *p = e->value;
    int i = ident_index(&p->id);
    FUZZ_CHECK(i >= 0 && i < NPEERS && H.added[i]);
    FUZZ_CHECK(p->proto == H.info[i].proto && p->direct == H.info[i].direct);
    check_queue(p);
    qbytes += lp2p_gs_queue_bytes(&p->q);
    FUZZ_CHECK(p->ntopics <= l->max_topics_per_peer);
    for (size_t k = 0; k < p->ntopics; k++) {
      const gs_topic *t = p->topics[k];
      FUZZ_CHECK(lp2p_map_get(&r->topics, t->name, t->name_len) == t);
      FUZZ_CHECK(lp2p_gs_peers_has(&t->peers, p));
      for (size_t j = k + 1; j < p->ntopics; j++) {
        FUZZ_CHECK(p->topics[j] != t);
      }
    }
    /* IDONTWANT: at most max_idontwant_messages RPCs per heartbeat (kept
     * for idontwant_message_ttl heartbeats: check_dontwant) */
    FUZZ_CHECK(p->dontwants <= pp->max_idontwant_messages);
    FUZZ_CHECK(p->iasked <= pp->max_ihave_length);
    if (after_beat) {
      FUZZ_CHECK(p->ihaves == 0 && p->iasked == 0 && p->dontwants == 0 &&
                 p->invalid_iwants == 0);
    }
    nrelay_all += lp2p_gs_peer_relays_all(p);
    npeers++;
  }
  FUZZ_CHECK(npeers == r->peers.count && npeers == H.npeers);
  FUZZ_CHECK(nrelay_all == r->nrelay_all);
  check_ready(npeers);
  check_scores();
  it = 0;
  size_t nbackoff = 0;
  while ((e = lp2p_map_next(&r->topics, &it)) != NULL) {
    check_topic(e->value, after_beat, &nbackoff);
    ntopics++;
  }
  FUZZ_CHECK(nbackoff == r->nbackoff && nbackoff <= l->max_backoffs);
  /* max_topics bounds the topics only peers brought; ours come on top */
  FUZZ_CHECK(ntopics == r->topics.count && ntopics <= l->max_topics + NTOPICS);
  check_dontwant();
  check_seen(&nseen, &npend, after_beat);
  check_stats(npeers, ntopics, check_mcache(), nseen, npend, qbytes);
}

/* ---- operations ---------------------------------------------------------- */

static int pick_peer(void) {
  return u8() % NPEERS;
}

/* A topic name: usually one of ours, sometimes from the input (possibly
 * empty or over max_topic_len). */
static const uint8_t *pick_topic(size_t *len) {
  uint8_t b = u8();
  if (b % 8 < NTOPICS) {
    *len = strlen(topic_names[b % 8]);
    return (const uint8_t *)topic_names[b % 8];
  }
  const uint8_t *p;
  *len = take(20, &p);
  return p;
}

/* A group id of partial messages: one of a few, or any bytes. */
static lp2p_bytes pick_group(void) {
  static const char *const groups[] = {"g0", "g1", "g2", "g3"};
  uint8_t b = u8();
  lp2p_bytes g = {(const uint8_t *)groups[b & 3], 2};
  if (b & 4) {
    g.len = take(70, &g.data); /* maybe empty, maybe over max_id_len */
  }
  return g;
}

/* Three addresses (none, two IPv4 ones) so that peers share them (P6). */
static void pick_ip(uint8_t sel, uint8_t ip[16]) {
  memset(ip, 0, 16);
  if (sel % 3) {
    ip[10] = ip[11] = 0xff;
    ip[12] = 10;
    ip[15] = (uint8_t)(sel % 3);
  }
}

static void op_add_peer(void) {
  int i = pick_peer();
  uint8_t b = u8();
  lp2p_peer_info info;
  memset(&info, 0, sizeof(info));
  info.proto = (lp2p_pubsub_proto)(b & 3);
  info.outbound = (b & 4) != 0;
  info.direct = (b & 0x38) == 0x38;
  info.user = &H.added[i];
  pick_ip((uint8_t)(b >> 6), info.ip);
  /* a retained score record comes back with the peer: a peer cannot wash
   * a bad score by reconnecting */
  gs_speer *kept = lp2p_map_get(&H.r->score.peers, ids[i].bytes, ids[i].len);
  double behaviour = kept ? kept->behaviour : 0;
  int rv = lp2p_router_add_peer(H.r, &ids[i], &info, H.now);
  if (H.added[i]) {
    FUZZ_CHECK(rv == LP2P_ERR_STATE);
  } else if (H.npeers >= limits()->max_peers) {
    FUZZ_CHECK(rv == LP2P_ERR_TOO_LARGE);
  } else {
    FUZZ_CHECK(rv == 0);
    H.added[i] = 1;
    H.px_ok[i] = 0;
    H.info[i] = info;
    H.npeers++;
    gs_peer *p = lp2p_gs_peer_find(H.r, &ids[i]);
    if (kept) {
      if (p->sp != kept) {
        fprintf(stderr,
                "fuzz_router: peer %d came back and lost its "
                "retained score record\n",
                i);
      }
      FUZZ_CHECK(p->sp == kept && p->sp->behaviour == behaviour);
    }
  }
}

static void op_remove_peer(void) {
  int i = pick_peer();
  int rv = lp2p_router_remove_peer(H.r, &ids[i], H.now);
  FUZZ_CHECK(rv == (H.added[i] ? 0 : LP2P_ERR_NOT_FOUND));
  if (H.added[i]) {
    H.added[i] = 0;
    H.npeers--;
  }
}

static void op_join(void) {
  uint8_t b = u8();
  int i = b % NTOPICS;
  const uint8_t *name = (const uint8_t *)topic_names[i];
  size_t len = strlen(topic_names[i]);
  /* never refused: peers' subscriptions must not keep us from joining */
  if (b & 0x10) {
    lp2p_partial_mode mode = (lp2p_partial_mode)((b >> 5) % 3);
    if (b & 0x80) { /* a mode without joining: the fanout */
      FUZZ_CHECK(lp2p_router_set_topic_partial(H.r, name, len, mode) == 0);
      return;
    }
    FUZZ_CHECK(lp2p_router_join_partial(H.r, name, len, mode, H.now) == 0);
  } else {
    FUZZ_CHECK(lp2p_router_join(H.r, name, len, H.now) == 0);
  }
  H.joined[i] = 1;
}

/* The application's action for each peer: parts and metadata of the
 * input's sizes (some over the limits), or nothing. */
static bool partial_action(lp2p_router *r, const lp2p_partial_peer *peer,
                           lp2p_partial_action *out, void *arg) {
  static uint8_t big[4096];
  const uint8_t *sizes = arg;
  (void)r;
  FUZZ_CHECK(peer->peer->len >= 1);
  FUZZ_CHECK(peer->metadata.len <= limits()->max_partial_metadata);
  out->parts = (lp2p_bytes){big, (size_t)sizes[0] * 9};
  out->metadata = (lp2p_bytes){big, sizes[1] % 20};
  if (sizes[1] & 0x20) {
    out->peer_metadata = (lp2p_bytes){big, sizes[1] % 18};
  }
  return (sizes[1] & 0x40) == 0;
}

/* Publishes a group to the default peers, or to some named ones. */
static void publish_partial(const uint8_t *topic, size_t tlen, lp2p_bytes g,
                            const lp2p_peer_id *to, size_t nto) {
  uint8_t sizes[2] = {u8(), u8()};
  int rv = lp2p_router_publish_partial(H.r, topic, tlen, g.data, g.len, to, nto,
                                       partial_action, sizes, H.now);
  FUZZ_CHECK(rv >= 0 || rv == LP2P_ERR_STATE || rv == LP2P_ERR_INVALID_ARG);
  FUZZ_CHECK(rv != LP2P_ERR_INVALID_ARG || g.len == 0 ||
             g.len > limits()->max_id_len || tlen == 0 ||
             tlen > limits()->max_topic_len);
}

static void op_publish_partial(void) {
  size_t tlen;
  const uint8_t *topic = pick_topic(&tlen);
  lp2p_peer_id to[2] = {ids[pick_peer()], ids[pick_peer()]};
  publish_partial(topic, tlen, pick_group(), to, u8() % 3);
}

/* As an application answers what a peer sent: from inside the callback,
 * with feedback for the peer. */
static void on_partial(lp2p_router *r, const lp2p_partial_rpc *pm, void *user) {
  (void)user;
  FUZZ_CHECK(r == H.r && H.op == OP_RECV);
  FUZZ_CHECK(pm->group.len >= 1 && pm->group.len <= limits()->max_id_len);
  FUZZ_CHECK(pm->parts.len <= limits()->max_message_size);
  FUZZ_CHECK(pm->metadata.len <= limits()->max_partial_metadata);
  uint8_t b = u8();
  if (b & 1) {
    publish_partial(pm->topic.data, pm->topic.len, pm->group, pm->from, 1);
  }
  if (b & 2) {
    FUZZ_CHECK(lp2p_router_partial_feedback(
                   r, pm->topic.data, pm->topic.len, pm->from,
                   (b & 4) ? LP2P_PARTIAL_INVALID : LP2P_PARTIAL_USEFUL) == 0);
  }
}

/* As go's OnEmitGossip: the application publishes to the peers named. */
static void on_partial_gossip(lp2p_router *r, lp2p_bytes topic,
                              lp2p_bytes group, const lp2p_peer_id *peers,
                              size_t npeers, void *user) {
  (void)user;
  FUZZ_CHECK(r == H.r && npeers >= 1);
  if (u8() & 1) {
    publish_partial(topic.data, topic.len, group, peers, npeers);
  }
}

static void op_leave(void) {
  int i = u8() % NTOPICS;
  FUZZ_CHECK(lp2p_router_leave(H.r, (const uint8_t *)topic_names[i],
                               strlen(topic_names[i]), H.now) == 0);
  H.joined[i] = 0;
}

/* Runs what is due (heartbeats, score decays) until `until`, one by one,
 * checking the state after each. */
static void advance_to(lp2p_tstamp until) {
  for (int k = 0; k < MAX_BEATS && lp2p_router_expiry(H.r) <= until; k++) {
    uint64_t beats = H.r->st.heartbeats;
    H.now = lp2p_router_expiry(H.r);
    FUZZ_CHECK(lp2p_router_handle_expiry(H.r, H.now) == 0);
    check_state(H.r->st.heartbeats != beats);
  }
  uint64_t beats = H.r->st.heartbeats;
  H.now = until;
  FUZZ_CHECK(lp2p_router_handle_expiry(H.r, H.now) == 0);
  /* fallen behind: one heartbeat for the missed ones */
  check_state(H.r->st.heartbeats != beats);
}

static void op_time(void) {
  uint8_t kind = u8(), v = u8();
  lp2p_tstamp step;
  switch (kind % 4) {
  case 0:
    step = v * LP2P_MILLISECONDS;
    break;
  case 1:
    step = params()->heartbeat_interval * (v % 8 + 1u);
    break;
  case 2:
    step = v * 100 * LP2P_MILLISECONDS;
    break;
  default:
    step = v * LP2P_SECONDS;
    break;
  }
  advance_to(H.now + step);
}

/* Message data: new from the input, or remembered (a duplicate). */
static size_t pick_data(uint8_t flags, const uint8_t **data) {
  if ((flags & 1) && H.nblobs) {
    const blob *b = &H.blobs[u8() % H.nblobs];
    *data = b->data;
    return b->len;
  }
  size_t len = take(BLOB_MAX, data);
  remember_blob(*data, len);
  return len;
}

/* The publish gate: our message goes to peers below the publish
 * threshold only when they are floodsub, direct or mesh peers (as go);
 * flood publish and the fanout take none of them. */
static void check_publish_gate(const uint8_t *topic, size_t tlen,
                               const size_t *before) {
  gs_topic *t = tlen ? lp2p_map_get(&H.r->topics, topic, tlen) : NULL;
  for (int i = 0; H.scoring && i < NPEERS; i++) {
    gs_peer *p = H.added[i] ? lp2p_gs_peer_find(H.r, &ids[i]) : NULL;
    if (!p || p->q.len <= before[i] || !lp2p_gs_peer_is_mesh(p->proto) ||
        p->direct || (t && lp2p_gs_peers_has(&t->mesh, p))) {
      continue;
    }
    FUZZ_CHECK(lp2p_gs_score(H.r, p) >= H.r->score.p.thresholds.publish);
  }
}

static void op_publish(void) {
  static uint8_t big[4096];
  static const uint8_t empty[1];
  uint8_t f = u8(), id[256];
  size_t tlen, dlen, idlen = 0;
  const uint8_t *topic = pick_topic(&tlen), *data;
  if ((f & 6) == 6) {
    /* around max_message_size */
    dlen = limits()->max_message_size - (u8() % 64);
    memset(big, f, sizeof(big));
    data = big;
  } else {
    dlen = pick_data(f, &data);
  }
  if (dlen == 0) {
    data = empty;
  }
  size_t before[NPEERS];
  for (int i = 0; i < NPEERS; i++) {
    gs_peer *p = H.added[i] ? lp2p_gs_peer_find(H.r, &ids[i]) : NULL;
    before[i] = p ? p->q.len : 0;
  }
  int rv = lp2p_router_publish(H.r, topic, tlen, data, dlen, id, &idlen, H.now);
  check_publish_gate(topic, tlen, before);
  if (tlen == 0 || tlen > limits()->max_topic_len) {
    FUZZ_CHECK(rv == LP2P_ERR_INVALID_ARG);
  } else if (rv >= 0) {
    FUZZ_CHECK(rv >= 1 && (size_t)rv <= H.npeers);
    FUZZ_CHECK(idlen >= 1 && idlen <= limits()->max_id_len);
    remember_id(id, idlen);
  } else {
    FUZZ_CHECK(rv == LP2P_ERR_TOO_LARGE || rv == LP2P_ERR_STATE ||
               rv == LP2P_ERR_NOT_SENT);
  }
}

/* A Message: valid under the router's policy unless the flags spoil it. */
static void put_message(lp2p_buf *body) {
  static const uint8_t empty[1];
  uint8_t f = u8(), sq[8], sig[LP2P_SIG_MAX], pk[LP2P_PUBKEY_PB_MAX];
  size_t tlen;
  lp2p_rpc_msg m;
  lp2p_buf tmp;
  memset(&m, 0, sizeof(m));
  m.topic.data = pick_topic(&tlen);
  m.topic.len = tlen;
  m.data.len = pick_data(f, &m.data.data);
  if (m.data.len == 0) {
    m.data.data = empty;
  }
  if ((f & 0x06) == 0x06) {
    m.data.data = NULL; /* no data: no sha256 id */
  }
  lp2p_buf_init(&tmp, NULL);
  int author = u8() % (NIDENT + 1);
  uint64_t seqno = (f & 0x80) ? ++H.seqno : u8() % 8;
  for (int i = 0; i < 8; i++) {
    sq[i] = (uint8_t)(seqno >> (56 - 8 * i));
  }
  if (H.sign) {
    m.from = (lp2p_bytes){ids[author].bytes, ids[author].len};
    m.seqno = (lp2p_bytes){sq, (f & 0x18) == 0x18 ? 7u : 8u};
    FUZZ_CHECK(lp2p_buf_append_str(&tmp, "libp2p-pubsub:") == 0);
    FUZZ_CHECK(lp2p_rpc_put_message_body(&tmp, &m) == 0);
    size_t sig_len;
    FUZZ_CHECK(lp2p_privkey_sign(&keys[author], tmp.data, tmp.len, sig,
                                 &sig_len) == 0);
    if (f & 0x20) {
      sig[u8() % sig_len] ^= 1; /* a forgery */
    }
    if ((f & 0x60) != 0x60) {
      m.signature = (lp2p_bytes){sig, sig_len};
    }
    if (f & 0x08) {
      lp2p_pubkey pub;
      FUZZ_CHECK(lp2p_privkey_public(&keys[author], &pub) == 0);
      int n = lp2p_pubkey_marshal(&pub, pk, sizeof(pk));
      FUZZ_CHECK(n > 0);
      m.key = (lp2p_bytes){pk, (size_t)n};
    }
  } else {
    /* StrictNoSign refuses any authorship field */
    if (f & 0x10) {
      m.from = (lp2p_bytes){ids[author].bytes, ids[author].len};
    }
    if (f & 0x20) {
      m.seqno = (lp2p_bytes){sq, 8};
    }
    if ((f & 0x48) == 0x48) {
      m.signature = (lp2p_bytes){sq, 8};
    }
  }
  lp2p_buf_truncate(&tmp, 0);
  FUZZ_CHECK(lp2p_rpc_put_message_body(&tmp, &m) == 0);
  FUZZ_CHECK(lp2p_rpc_put_publish(body, tmp.data, tmp.len) == 0);
  lp2p_buf_free(&tmp);
}

/* Up to 4 ids: remembered ones (real) or from the input. */
static size_t pick_ids(lp2p_bytes *out) {
  size_t n = u8() % 5;
  for (size_t i = 0; i < n; i++) {
    size_t k = u8() % (H.nids + 1);
    if (k < H.nids) {
      out[i] = (lp2p_bytes){H.ids[k].id, H.ids[k].len};
    } else {
      out[i].len = take(40, &out[i].data);
    }
  }
  return n;
}

static void put_control_entry(lp2p_buf *ctl) {
  static const uint64_t backoffs[] = {0, 1, 2, 3, 60, 86400 * 3, UINT64_MAX};
  uint8_t type = u8();
  size_t tlen;
  const uint8_t *topic = pick_topic(&tlen);
  lp2p_bytes idv[4];
  lp2p_rpc_px px[3];
  size_t n;
  switch (type % 5) {
  case 0:
    FUZZ_CHECK(lp2p_ctl_put_graft(ctl, topic, tlen) == 0);
    break;
  case 1:
    n = u8() % 4;
    for (size_t i = 0; i < n; i++) {
      uint8_t b = u8();
      int k = b % NIDENT;
      px[i].peer_id = (lp2p_bytes){ids[k].bytes, ids[k].len};
      px[i].record = (lp2p_bytes){NULL, 0};
      if (b & 0x80) {
        px[i].record = (lp2p_bytes){records[k].data, records[k].len};
      } else if (b & 0x40) {
        /* someone else's record */
        int o = (k + 1) % NIDENT;
        px[i].record = (lp2p_bytes){records[o].data, records[o].len};
      }
    }
    FUZZ_CHECK(lp2p_ctl_put_prune(ctl, topic, tlen, backoffs[(type >> 3) % 7],
                                  px, n) == 0);
    break;
  case 2:
    n = pick_ids(idv);
    FUZZ_CHECK(lp2p_ctl_put_ihave(ctl, topic, tlen, idv, n) == 0);
    break;
  case 3:
    n = pick_ids(idv);
    FUZZ_CHECK(lp2p_ctl_put_ids(ctl, LP2P_CTL_IWANT, idv, n) == 0);
    break;
  default:
    n = pick_ids(idv);
    FUZZ_CHECK(lp2p_ctl_put_ids(ctl, LP2P_CTL_IDONTWANT, idv, n) == 0);
    break;
  }
}

/* The partial-messages parts of a built RPC, as bits of `x` say: a
 * ControlExtensions (advertising the extension or not) and an
 * RPC.partial. */
static void put_partial_fields(lp2p_buf *body, lp2p_buf *ctl, uint8_t x) {
  if (x & 1) {
    lp2p_rpc_extensions e = {(x & 2) != 0, false};
    FUZZ_CHECK(lp2p_ctl_put_extensions(ctl, &e) == 0);
  }
  if (x & 4) {
    lp2p_rpc_partial pm;
    pm.topic.data = pick_topic(&pm.topic.len);
    pm.group = pick_group();
    pm.message.len = take(255, &pm.message.data);
    pm.metadata.len = take(24, &pm.metadata.data);
    if (x & 8) {
      pm.message.data = NULL;
    }
    FUZZ_CHECK(lp2p_rpc_put_partial(body, &pm) == 0);
  }
}

/* An RPC assembled with lp2p's encoders. */
static void build_rpc(lp2p_buf *body) {
  uint8_t n = u8();
  lp2p_buf ctl;
  lp2p_buf_init(&ctl, NULL);
  for (int i = 0; i < (n & 3); i++) {
    lp2p_rpc_sub sub;
    uint8_t b = u8();
    sub.topic.data = pick_topic(&sub.topic.len);
    sub.subscribe = b & 1;
    sub.requests_partial = (b & 2) != 0;
    sub.supports_partial = (b & 4) != 0;
    FUZZ_CHECK(lp2p_rpc_put_sub_partial(body, &sub) == 0);
  }
  for (int i = 0; i < ((n >> 2) & 3); i++) {
    put_message(body);
  }
  for (int i = 0; i < ((n >> 4) & 7); i++) {
    put_control_entry(&ctl);
  }
  put_partial_fields(body, &ctl, u8());
  if (ctl.len || (n & 0x80)) {
    FUZZ_CHECK(lp2p_rpc_put_control(body, ctl.data, ctl.len) == 0);
  }
  lp2p_buf_free(&ctl);
}

/* The score gates on what a peer sends: below the graylist threshold its
 * RPC is ignored whole; PX is taken only from peers at or above
 * accept_px. */
static void recv_rpc(int from, const uint8_t *in, size_t len) {
  gs_peer *p = H.added[from] ? lp2p_gs_peer_find(H.r, &ids[from]) : NULL;
  double score = p ? lp2p_gs_score(H.r, p) : 0;
  lp2p_router_stats before;
  lp2p_router_get_stats(H.r, &before);
  H.op = OP_RECV;
  H.from = from;
  int rv = lp2p_router_recv_rpc(H.r, &ids[from], in, len, H.now);
  H.op = OP_OTHER;
  FUZZ_CHECK(rv == (H.added[from] ? 0 : LP2P_ERR_NOT_FOUND));
  lp2p_router_stats after;
  lp2p_router_get_stats(H.r, &after);
  const lp2p_score_thresholds *th = &H.r->score.p.thresholds;
  if (p && p->direct) {
    /* as go's AcceptFrom: a direct peer is never graylisted */
    FUZZ_CHECK(after.rpcs_graylisted == before.rpcs_graylisted);
  } else if (p && H.scoring && score < th->graylist) {
    FUZZ_CHECK(after.rpcs_graylisted == before.rpcs_graylisted + 1);
    FUZZ_CHECK(after.msgs_received == before.msgs_received &&
               after.graft_received == before.graft_received);
  }
  if (after.px_received > before.px_received) {
    /* P5 is sampled when a score is recomputed, which the PRUNE's mesh
     * change triggers, so the score the PX decision saw may differ from
     * the cached one before; P3b then only lowers it */
    FUZZ_CHECK(score >= th->accept_px ||
               lp2p_gs_score(H.r, p) >= th->accept_px);
  }
}

static void op_recv_raw(void) {
  int from = pick_peer();
  const uint8_t *in;
  size_t len = take(255, &in);
  recv_rpc(from, in, len);
}

static void op_recv_built(void) {
  int from = pick_peer();
  lp2p_buf body;
  lp2p_buf_init(&body, NULL);
  build_rpc(&body);
  recv_rpc(from, body.data, body.len);
  lp2p_buf_free(&body);
}

static void op_report(void) {
  uint8_t b = u8();
  lp2p_validation v = (lp2p_validation)(u8() % 4);
  size_t before = H.r->npending;
  if (H.npend == 0 || b == 0xff) {
    uint8_t junk[32] = {b};
    int rv = lp2p_router_report_validation(H.r, junk, sizeof(junk), v, H.now);
    FUZZ_CHECK(rv == LP2P_ERR_NOT_FOUND);
    return;
  }
  size_t k = b % H.npend;
  int rv =
      lp2p_router_report_validation(H.r, H.pend[k].id, H.pend[k].len, v, H.now);
  if (v == LP2P_VALIDATION_PENDING) {
    FUZZ_CHECK(rv == LP2P_ERR_NOT_FOUND && H.r->npending == before);
    return;
  }
  FUZZ_CHECK(rv == 0 || rv == LP2P_ERR_NOT_FOUND);
  FUZZ_CHECK(H.r->npending == before - (rv == 0));
  /* answered or gone: forget it */
  H.pend[k] = H.pend[--H.npend];
}

static void op_app_score(void) {
  static const double values[] = {-30, -8, -2, 0, 3, 50};
  int i = pick_peer();
  H.app[i] = values[u8() % 6];
}

static void op_topic_score(void) {
  int i = u8() % NTOPICS;
  uint8_t f = u8();
  lp2p_topic_score_params tp;
  lp2p_errdetail err;
  memset(&tp, 0, sizeof(tp));
  tp.topic_weight = (f & 1) ? 1 : 0.5;
  tp.time_in_mesh_weight = 0.1;
  tp.time_in_mesh_quantum = LP2P_SECONDS;
  tp.time_in_mesh_cap = 10;
  tp.first_message_deliveries_weight = 1;
  tp.first_message_deliveries_decay = 0.5;
  tp.first_message_deliveries_cap = 10;
  if (f & 2) {
    tp.mesh_message_deliveries_weight = -1;
    tp.mesh_message_deliveries_decay = 0.5;
    tp.mesh_message_deliveries_cap = 10;
    tp.mesh_message_deliveries_threshold = 2;
    tp.mesh_message_deliveries_window = 100 * LP2P_MILLISECONDS;
    tp.mesh_message_deliveries_activation = LP2P_SECONDS;
  }
  if (f & 4) {
    tp.mesh_failure_penalty_weight = -1;
    tp.mesh_failure_penalty_decay = 0.5;
  }
  tp.invalid_message_deliveries_weight = (f & 8) ? -50 : -5;
  tp.invalid_message_deliveries_decay = 0.5;
  int rv = lp2p_router_set_topic_score_params(
      H.r, (const uint8_t *)topic_names[i], strlen(topic_names[i]), &tp, &err);
  FUZZ_CHECK(rv == (H.scoring ? 0 : LP2P_ERR_STATE));
}

static void op_score_info(void) {
  int i = pick_peer();
  lp2p_peer_score_info info;
  lp2p_peer_topic_score ts;
  const gs_speer *sp =
      lp2p_map_get(&H.r->score.peers, ids[i].bytes, ids[i].len);
  int rv = lp2p_router_peer_score_info(H.r, &ids[i], &info);
  FUZZ_CHECK(rv == (sp ? 0 : LP2P_ERR_NOT_FOUND));
  if (rv == 0) {
    FUZZ_CHECK(info.connected == (H.added[i] != 0));
    /* computed afresh, with the app score of now: the score the router
     * holds sampled it when it last recomputed (the callback's contract) */
    FUZZ_CHECK(info.score == info.topics + info.p5 + info.p6 + info.p7);
    FUZZ_CHECK(info.p5 == (H.scoring ? H.app[i] : 0));
  }
  /* the breakdown adds up to the score the router holds */
  lp2p_peer_score_breakdown b;
  rv = lp2p_router_peer_score_breakdown(H.r, &ids[i], &b, NULL, 0);
  FUZZ_CHECK(rv == (sp ? 0 : LP2P_ERR_NOT_FOUND));
  if (rv == 0) {
    FUZZ_CHECK(b.score == lp2p_router_peer_score(H.r, &ids[i]));
    FUZZ_CHECK(b.score == b.topics_capped + b.p5 + b.p6 + b.p7);
  }
  int k = u8() % NTOPICS;
  rv = lp2p_router_peer_topic_score(H.r, &ids[i],
                                    (const uint8_t *)topic_names[k],
                                    strlen(topic_names[k]), &ts);
  FUZZ_CHECK(rv == 0 || rv == LP2P_ERR_NOT_FOUND);
}

static void op_pull(void) {
  int i = pick_peer();
  pull_peer(i, 1 + u8() % MAX_FRAMES);
}

/* lp2p_router_pull_next: frames of any peer, round robin. */
static void op_pull_next(void) {
  int frames = 1 + u8() % MAX_FRAMES;
  for (int k = 0; k < frames; k++) {
    const lp2p_peer_id *peer = NULL;
    void *user = NULL;
    const uint8_t *out = NULL;
    ptrdiff_t n = lp2p_router_pull_next(H.r, &peer, &user, &out, H.now);
    FUZZ_CHECK(n >= 0);
    if (n == 0) {
      /* nothing left anywhere */
      size_t it = 0;
      lp2p_map_entry *e;
      while ((e = lp2p_map_next(&H.r->peers, &it)) != NULL) {
        FUZZ_CHECK(lp2p_gs_queue_bytes(&((gs_peer *)e->value)->q) == 0);
      }
      return;
    }
    int i = ident_index(peer);
    FUZZ_CHECK(i >= 0 && i < NPEERS && H.added[i] && user == &H.added[i]);
    check_frame(i, out, (size_t)n);
    pulled(i);
  }
}

/* ---- settings ------------------------------------------------------------ */

static void make_settings(lp2p_router_settings *s, lp2p_router_callbacks *cb) {
  uint8_t f = u8(), g = u8();
  lp2p_router_params *p = &s->params;
  lp2p_router_limits *l = &s->limits;
  lp2p_router_settings_default(s);
  H.sign = f & 1;
  s->sign_policy = H.sign ? LP2P_STRICT_SIGN : LP2P_STRICT_NO_SIGN;
  s->msg_id = H.sign && (f & 2) ? LP2P_MSG_ID_FROM_SEQNO : LP2P_MSG_ID_SHA256;
  s->key = keys[SELF];
  H.rand_state = g;
  s->rand_fn = fuzz_rand;
  s->rand_user = &H.rand_state;
  s->first_seqno = g & 1;
  if (g & 0x20) {
    p->mesh = (lp2p_mesh_params){4, 3, 6, 2, 2, 3};
  } else {
    p->mesh = (lp2p_mesh_params){3, 2, 4, 2, 1, 2};
  }
  p->history_length = 3;
  p->history_gossip = 2;
  p->gossip_retransmission = 2;
  p->heartbeat_initial_delay = 100 * LP2P_MILLISECONDS;
  p->heartbeat_interval = 250 * LP2P_MILLISECONDS;
  p->fanout_ttl = 3 * LP2P_SECONDS;
  p->prune_peers = 4;
  p->prune_backoff = 4 * LP2P_SECONDS;
  p->unsubscribe_backoff = 2 * LP2P_SECONDS;
  p->direct_connect_ticks = 3;
  p->opportunistic_graft_ticks = 4;
  p->graft_flood_threshold = LP2P_SECONDS;
  p->max_ihave_length = 8;
  p->max_ihave_messages = 2;
  p->max_idontwant_messages = 6;
  p->max_idontwant_length = 3;
  p->idontwant_message_ttl = 2;
  p->idontwant_message_threshold = (f & 0x80) ? 0 : 16;
  p->iwant_followup_time = LP2P_SECONDS;
  p->seen_ttl = 6 * LP2P_SECONDS;
  p->flood_publish = (f & 4) != 0;
  p->do_px = (f & 8) != 0;
  H.records = (g & 0x40) != 0;
  l->max_rpc_size = (g & 2) ? 256 : 2048;
  l->max_message_size = (g & 4) ? l->max_rpc_size : l->max_rpc_size / 2;
  l->max_subscriptions = 8;
  l->max_messages = 4;
  l->max_control = 16;
  l->max_ids = 32;
  l->max_px = 8;
  l->max_topic_len = 16;
  l->max_id_len = 64;
  l->max_peers = 8;
  l->max_topics_per_peer = 3;
  l->max_topics = 6;
  l->max_seen = (g & 8) ? 8 : 64;
  l->max_pending_validations = 3;
  l->queue_max_messages = 4;
  l->queue_max_bytes = (g & 0x10) ? 300 : 4096;
  l->queue_max_control_bytes = (g & 0x10) ? 100 : 2048;
  l->queue_max_gossip_bytes = (g & 0x10) ? 200 : 2048;
  l->queue_max_idontwant = (g & 0x10) ? 2 : 16;
  l->max_invalid_iwants = 3;
  /* small enough to be reached (NPEERS peers x NTOPICS topics) when the
   * seen cache is small too */
  l->max_backoffs = (g & 8) ? 3 : 64;
  s->extensions.partial_messages = true;
  l->max_partial_groups_per_topic = 3;
  l->max_partial_groups_per_peer = 2;
  l->max_partial_metadata = 16;
  H.scoring = (g & 0x80) != 0;
  s->scoring = H.scoring;
  if (H.scoring) {
    lp2p_score_params *sp = &s->score;
    memset(sp, 0, sizeof(*sp));
    sp->app_specific_weight = 1;
    sp->ip_colocation_factor_weight = -1;
    sp->ip_colocation_factor_threshold = 2;
    sp->behaviour_penalty_weight = -1;
    sp->behaviour_penalty_threshold = 1;
    sp->behaviour_penalty_decay = 0.5;
    sp->decay_interval = LP2P_SECONDS;
    sp->decay_to_zero = 0.01;
    sp->retain_score = 3 * LP2P_SECONDS;
    sp->thresholds = (lp2p_score_thresholds){-5, -10, -20, 1, 2};
  }
  memset(cb, 0, sizeof(*cb));
  cb->deliver = on_deliver;
  cb->validate = (f & 0x10) ? on_validate : NULL;
  cb->want_write = on_want_write;
  cb->connect = on_connect;
  cb->peer_record = on_peer_record;
  cb->event = on_event;
  cb->partial = on_partial;
  cb->partial_gossip = on_partial_gossip;
  cb->app_score = on_app_score;
  cb->disconnect = on_disconnect;
}

/* ---- the target ---------------------------------------------------------- */

static int verbose = -1;

/* With FUZZ_ROUTER_VERBOSE set: what an input did, to write seeds. */
static void print_summary(void) {
  const lp2p_router_stats *st = &H.last;
  fprintf(
      stderr,
      "fuzz_router: %s, peers %llu, rpcs in %llu (malformed %llu) out "
      "%llu, msgs received %llu delivered %llu published %llu "
      "forwarded %llu, graft in %llu out %llu, prune in %llu out %llu, "
      "ihave in %llu out %llu, iwant in %llu out %llu answered %llu, "
      "idontwant in %llu out %llu, px %llu, heartbeats %llu\n",
      H.sign ? "StrictSign" : "StrictNoSign", (unsigned long long)st->peers,
      (unsigned long long)st->rpcs_received,
      (unsigned long long)st->rpcs_malformed, (unsigned long long)st->rpcs_sent,
      (unsigned long long)st->msgs_received,
      (unsigned long long)st->msgs_delivered,
      (unsigned long long)st->msgs_published,
      (unsigned long long)st->msgs_forwarded,
      (unsigned long long)st->graft_received,
      (unsigned long long)st->graft_sent,
      (unsigned long long)st->prune_received,
      (unsigned long long)st->prune_sent,
      (unsigned long long)st->ihave_received,
      (unsigned long long)st->ihave_sent,
      (unsigned long long)st->iwant_received,
      (unsigned long long)st->iwant_sent,
      (unsigned long long)st->iwant_answered,
      (unsigned long long)st->idontwant_received,
      (unsigned long long)st->idontwant_sent,
      (unsigned long long)st->px_received, (unsigned long long)st->heartbeats);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lp2p_router_settings s;
  lp2p_router_callbacks cb;
  lp2p_errdetail err;
  if (!identities_ready) {
    make_identities();
    init_default_limits();
  }
  memset(&H, 0, sizeof(H));
  H.p = data;
  H.n = size;
  H.now = T0;
  H.op = OP_OTHER;
  lp2p_rpc_init(&H.dec, NULL);
  make_settings(&s, &cb);
  int rv = lp2p_router_new(&H.r, &s, &cb, NULL, NULL, H.now, &err);
  if (rv != 0) {
    fprintf(stderr, "fuzz_router: router_new: %s\n", err.msg);
  }
  FUZZ_CHECK(rv == 0);
  check_state(0);
  for (int k = 0; k < MAX_OPS && H.n > 0; k++) {
    switch (u8() % 16) {
    case 0:
    case 1:
      op_add_peer();
      break;
    case 2:
      op_remove_peer();
      break;
    case 3:
      op_join();
      break;
    case 4:
      op_leave();
      break;
    case 5:
      op_time();
      break;
    case 6:
      if (u8() & 1) {
        op_publish();
      } else {
        op_publish_partial();
      }
      break;
    case 7:
      op_recv_raw();
      break;
    case 8:
    case 9:
      op_recv_built();
      break;
    case 10:
      op_pull();
      break;
    case 11:
      op_pull_next();
      break;
    case 12:
      op_app_score();
      break;
    case 13:
      op_topic_score();
      break;
    case 14:
      op_score_info();
      break;
    default:
      op_report();
      break;
    }
    check_state(0);
  }
  pull_all();
  check_state(0);
  if (verbose < 0) {
    verbose = getenv("FUZZ_ROUTER_VERBOSE") != NULL;
  }
  if (verbose) {
    print_summary();
  }
  lp2p_router_del(H.r);
  lp2p_rpc_free(&H.dec);
  return 0;
}
