/* The libp2p Noise session (noise/README.md): the XX handshake with the
 * signed identity payload and early-data muxer lists, then transport
 * frames, all behind 2-byte big-endian lengths. Sans-IO: bytes in through
 * lp2p_noise_recv and lp2p_noise_write, bytes out through lp2p_noise_read
 * and lp2p_noise_pull. */
#include <sodium.h>
#include <string.h>

#include "base/mem.h"
#include "net/noise_internal.h"
#include "net/noise_payload.h"
#include "net/noise_xx.h"

enum {
  ST_WAIT_MSG1, /* responder */
  ST_WAIT_MSG2, /* initiator, message 1 sent */
  ST_WAIT_MSG3, /* responder, message 2 sent */
  ST_TRANSPORT,
  ST_FAILED,
};

#define FRAME_HDR 2
/* Idle buffers larger than this are released, so that a quiet connection
 * does not keep the memory of its largest burst. */
#define KEEP_BUF ((size_t)16384)
/* Room for one byte in one frame, and for the largest frame. */
#define MIN_SEND_BUFFER (FRAME_HDR + LP2P_NOISE_TAG_LEN + 1)
#define MIN_RECV_BUFFER (FRAME_HDR + LP2P_NOISE_MAX_MESSAGE)

struct lp2p_noise {
  const lp2p_mem *mem;
  lp2p_noise_callbacks cb;
  void *user;
  int state;
  bool initiator;
  bool has_expected;
  lp2p_peer_id expected;
  size_t nmuxers;
  char muxers[LP2P_NOISE_MAX_MUXERS][LP2P_NOISE_MUXER_NAME_MAX + 1];
  lp2p_tstamp deadline;
  size_t max_recv, max_send;
  lp2p_noise_xx xx;
  lp2p_noise_cipher tx, rx;
  lp2p_buf payload; /* our signed payload, until message 2 or 3 takes it */
  lp2p_buf out;     /* framed bytes for the remote */
  bool out_pulled;  /* `out` was handed out by pull: empty it next call */
  bool out_idle;    /* the last pull found nothing to hand out */
  lp2p_buf plain;   /* decrypted bytes; scratch space in the handshake */
  bool plain_read;
  lp2p_buf partial; /* a frame that arrived split over recv calls */
  lp2p_noise_peer peer;
};

void lp2p_noise_settings_default(lp2p_noise_settings *s) {
  memset(s, 0, sizeof(*s));
}

static int check_settings(const lp2p_noise_settings *s) {
  if (!s || !s->identity || !s->rand_fn ||
      (s->role != LP2P_NOISE_INITIATOR && s->role != LP2P_NOISE_RESPONDER) ||
      s->nmuxers > LP2P_NOISE_MAX_MUXERS || (s->nmuxers && !s->muxers) ||
      (s->max_send_buffer && s->max_send_buffer < MIN_SEND_BUFFER) ||
      (s->max_recv_buffer && s->max_recv_buffer < MIN_RECV_BUFFER)) {
    return LP2P_ERR_INVALID_ARG;
  }
  for (size_t i = 0; i < s->nmuxers; i++) {
    size_t n =
        s->muxers[i] ? strnlen(s->muxers[i], LP2P_NOISE_MUXER_NAME_MAX + 1) : 0;
    if (n == 0 || n > LP2P_NOISE_MUXER_NAME_MAX) {
      return LP2P_ERR_INVALID_ARG;
    }
  }
  return 0;
}

static void copy_settings(lp2p_noise *n, const lp2p_noise_settings *s) {
  lp2p_tstamp timeout = s->handshake_timeout
                            ? s->handshake_timeout
                            : LP2P_NOISE_DEFAULT_HANDSHAKE_TIMEOUT;
  n->initiator = s->role == LP2P_NOISE_INITIATOR;
  n->state = n->initiator ? ST_WAIT_MSG2 : ST_WAIT_MSG1;
  if (s->remote_peer_id) {
    n->has_expected = true;
    n->expected = *s->remote_peer_id;
  }
  n->nmuxers = s->nmuxers;
  for (size_t i = 0; i < s->nmuxers; i++) {
    strcpy(n->muxers[i], s->muxers[i]);
  }
  n->deadline = timeout > LP2P_TSTAMP_NEVER - s->now ? LP2P_TSTAMP_NEVER
                                                     : s->now + timeout;
  n->max_recv =
      s->max_recv_buffer ? s->max_recv_buffer : LP2P_NOISE_DEFAULT_MAX_BUFFER;
  n->max_send =
      s->max_send_buffer ? s->max_send_buffer : LP2P_NOISE_DEFAULT_MAX_BUFFER;
}

/* Fresh static and ephemeral keys for every session (the spec allows a
 * per-session static key; it spares us storing one), and the payload
 * that signs the static key, made once up front. */
static int init_keys(lp2p_noise *n, const lp2p_noise_settings *s) {
  uint8_t keys[2 * LP2P_NOISE_DH_LEN];
  const char *names[LP2P_NOISE_MAX_MUXERS];
  s->rand_fn(keys, sizeof(keys), s->rand_user);
  int rv = lp2p_noise_xx_init(&n->xx, n->initiator, NULL, 0, keys,
                              keys + LP2P_NOISE_DH_LEN);
  sodium_memzero(keys, sizeof(keys));
  if (rv != 0) {
    return rv;
  }
  for (size_t i = 0; i < n->nmuxers; i++) {
    names[i] = n->muxers[i];
  }
  return lp2p_noise_payload_encode(s->identity, n->xx.s_pub, names, n->nmuxers,
                                   &n->payload);
}

/* Frames the next handshake message into `out`. Our payload is a few
 * hundred bytes (bounded muxer list), far below the 65535-byte limit. */
static int send_handshake(lp2p_noise *n, const uint8_t *payload, size_t len) {
  size_t msg_len = lp2p_noise_xx_overhead(&n->xx) + len;
  int rv = lp2p_buf_reserve(&n->out, FRAME_HDR + msg_len);
  if (rv != 0) {
    return rv;
  }
  uint8_t *p = n->out.data + n->out.len;
  p[0] = (uint8_t)(msg_len >> 8);
  p[1] = (uint8_t)msg_len;
  rv = lp2p_noise_xx_write(&n->xx, payload, len, p + FRAME_HDR);
  if (rv == 0) {
    n->out.len += FRAME_HDR + msg_len;
  }
  return rv;
}

int lp2p_noise_new(lp2p_noise **out, const lp2p_noise_settings *s,
                   const lp2p_noise_callbacks *cb, const lp2p_mem *mem,
                   void *user) {
  int rv = check_settings(s);
  if (rv != 0) {
    return rv;
  }
  lp2p_noise *n = lp2p_calloc(mem, 1, sizeof(*n));
  if (!n) {
    return LP2P_ERR_NOMEM;
  }
  n->mem = mem;
  n->user = user;
  if (cb) {
    n->cb = *cb;
  }
  lp2p_buf_init(&n->payload, mem);
  lp2p_buf_init(&n->out, mem);
  lp2p_buf_init(&n->plain, mem);
  lp2p_buf_init(&n->partial, mem);
  copy_settings(n, s);
  rv = init_keys(n, s);
  if (rv == 0 && n->initiator) {
    rv = send_handshake(n, NULL, 0); /* message 1: e, no payload */
  }
  if (rv != 0) {
    lp2p_noise_del(n);
    return rv;
  }
  *out = n;
  return 0;
}

static void wipe_buf(lp2p_buf *b) {
  if (b->data) {
    sodium_memzero(b->data, b->cap);
  }
  lp2p_buf_free(b);
}

void lp2p_noise_del(lp2p_noise *n) {
  if (!n) {
    return;
  }
  const lp2p_mem *mem = n->mem;
  wipe_buf(&n->plain);
  wipe_buf(&n->partial);
  lp2p_buf_free(&n->payload);
  lp2p_buf_free(&n->out);
  sodium_memzero(n, sizeof(*n));
  lp2p_free(mem, n);
}

/* Every key goes at the first error; the session only answers
 * LP2P_ERR_STATE afterwards. */
static int fail(lp2p_noise *n, int err) {
  n->state = ST_FAILED;
  sodium_memzero(&n->xx, sizeof(n->xx));
  sodium_memzero(&n->tx, sizeof(n->tx));
  sodium_memzero(&n->rx, sizeof(n->rx));
  if (n->plain.data) {
    sodium_memzero(n->plain.data, n->plain.cap);
  }
  n->plain.len = 0;
  return err;
}

static void drop_if_large(lp2p_buf *b) {
  if (b->len == 0 && b->cap > KEEP_BUF) {
    lp2p_buf_free(b);
  }
}

/* Bytes handed out by pull are released at the next call; the buffer
 * is kept while output flows (reallocating it for every batch faulted
 * its pages in again each time) and released once two pulls in a row
 * found nothing: the end of a burst, not the gap between two writes. */
static void reclaim_out(lp2p_noise *n) {
  if (n->out_pulled) {
    n->out.len = 0;
    n->out_pulled = false;
  }
}

static void reclaim_plain(lp2p_noise *n) {
  if (n->plain_read) {
    n->plain.len = 0;
    n->plain_read = false;
    drop_if_large(&n->plain);
  }
}

/* ---- handshake ---------------------------------------------------------- */

static bool has_name(char names[][LP2P_NOISE_MUXER_NAME_MAX + 1], size_t n,
                     const char *name) {
  for (size_t i = 0; i < n; i++) {
    if (strcmp(names[i], name) == 0) {
      return true;
    }
  }
  return false;
}

/* inlined-muxer-negotiation.md: the first muxer of the initiator's list
 * that the responder lists too. Returns one of our own names. */
static const char *select_muxer(lp2p_noise *n) {
  lp2p_noise_peer *p = &n->peer;
  for (size_t i = 0; n->initiator && i < n->nmuxers; i++) {
    if (has_name(p->muxers, p->nmuxers, n->muxers[i])) {
      return n->muxers[i];
    }
  }
  for (size_t i = 0; !n->initiator && i < p->nmuxers; i++) {
    for (size_t j = 0; j < n->nmuxers; j++) {
      if (strcmp(p->muxers[i], n->muxers[j]) == 0) {
        return n->muxers[j];
      }
    }
  }
  return NULL;
}

/* Checks the remote's payload against the static key the handshake just
 * delivered, and records who the remote is. */
static int authenticate(lp2p_noise *n, const uint8_t *in, size_t len) {
  lp2p_noise_payload p;
  lp2p_noise_peer *peer = &n->peer;
  int rv = lp2p_noise_payload_decode(in, len, &p);
  if (rv == 0) {
    rv = lp2p_noise_payload_verify(&p, n->xx.rs, &peer->pubkey);
  }
  if (rv == 0) {
    rv = lp2p_peer_id_from_pubkey(&peer->pubkey, &peer->peer_id);
  }
  if (rv == 0 && n->has_expected &&
      !lp2p_peer_id_equal(&n->expected, &peer->peer_id)) {
    rv = LP2P_ERR_PEER_ID_MISMATCH;
  }
  if (rv != 0) {
    return rv;
  }
  /* early data is only trusted now that the signature checked out */
  peer->has_extensions = p.has_extensions;
  peer->muxers_skipped = p.muxers_skipped;
  peer->nmuxers = p.nmuxers;
  for (size_t i = 0; i < p.nmuxers; i++) {
    memcpy(peer->muxers[i], p.muxers[i].data, p.muxers[i].len);
    peer->muxers[i][p.muxers[i].len] = 0;
  }
  return 0;
}

static int establish(lp2p_noise *n) {
  uint8_t hash[LP2P_NOISE_HASH_LEN];
  lp2p_noise_xx_split(&n->xx, &n->tx, &n->rx, hash);
  sodium_memzero(hash, sizeof(hash));
  n->peer.muxer = select_muxer(n);
  n->state = ST_TRANSPORT;
  int rv =
      n->cb.handshake_done ? n->cb.handshake_done(n, &n->peer, n->user) : 0;
  return rv < 0 ? rv : 0;
}

/* Reads a handshake message, its payload decrypted into the scratch
 * space of `plain` (empty until the handshake ends). */
static int read_handshake(lp2p_noise *n, const uint8_t *msg, size_t len,
                          size_t *payload_len) {
  size_t overhead = lp2p_noise_xx_overhead(&n->xx);
  int rv = lp2p_buf_reserve(&n->plain, len);
  if (rv == 0) {
    rv = lp2p_noise_xx_read(&n->xx, msg, len, n->plain.data);
  }
  if (rv == 0) {
    *payload_len = len - overhead;
  }
  return rv;
}

static int send_payload(lp2p_noise *n) {
  int rv = send_handshake(n, n->payload.data, n->payload.len);
  lp2p_buf_free(&n->payload);
  return rv;
}

static int on_handshake(lp2p_noise *n, const uint8_t *msg, size_t len) {
  size_t plen;
  int rv = read_handshake(n, msg, len, &plen);
  if (rv != 0) {
    return rv;
  }
  switch (n->state) {
  case ST_WAIT_MSG1:
    /* message 1 is unauthenticated: whatever payload it has is ignored */
    rv = send_payload(n);
    n->state = ST_WAIT_MSG3;
    return rv;
  case ST_WAIT_MSG2:
    rv = authenticate(n, n->plain.data, plen);
    if (rv == 0) {
      rv = send_payload(n);
    }
    return rv == 0 ? establish(n) : rv;
  default: /* ST_WAIT_MSG3 */
    rv = authenticate(n, n->plain.data, plen);
    return rv == 0 ? establish(n) : rv;
  }
}

/* ---- transport ---------------------------------------------------------- */

static int on_transport(lp2p_noise *n, const uint8_t *msg, size_t len) {
  if (len < LP2P_NOISE_TAG_LEN) {
    return LP2P_ERR_MALFORMED;
  }
  size_t plen = len - LP2P_NOISE_TAG_LEN;
  int rv = lp2p_buf_reserve(&n->plain, plen);
  if (rv == 0) {
    rv = lp2p_noise_cipher_decrypt(&n->rx, NULL, 0, msg, len,
                                   n->plain.data + n->plain.len);
  }
  if (rv == 0) {
    n->plain.len += plen;
  }
  return rv;
}

static int on_frame(lp2p_noise *n, const uint8_t *msg, size_t len) {
  return n->state == ST_TRANSPORT ? on_transport(n, msg, len)
                                  : on_handshake(n, msg, len);
}

static size_t frame_len(const uint8_t *hdr) {
  return (size_t)hdr[0] << 8 | hdr[1];
}

/* Collects a frame that straddles recv calls: the header first, then
 * exactly the body it announces, never more than 2 + 65535 bytes. */
static int stage(lp2p_noise *n, const uint8_t *in, size_t len, size_t *used) {
  lp2p_buf *b = &n->partial;
  size_t want = b->len < FRAME_HDR ? FRAME_HDR - b->len
                                   : FRAME_HDR + frame_len(b->data) - b->len;
  size_t take = len < want ? len : want;
  int rv = lp2p_buf_append(b, in, take);
  if (rv != 0) {
    return rv;
  }
  *used = take;
  if (b->len < FRAME_HDR || b->len < FRAME_HDR + frame_len(b->data)) {
    return 0;
  }
  rv = on_frame(n, b->data + FRAME_HDR, b->len - FRAME_HDR);
  b->len = 0;
  drop_if_large(b);
  return rv;
}

/* Whole frames are processed straight from the input; only a split one
 * is copied. */
static int feed(lp2p_noise *n, const uint8_t *in, size_t len) {
  while (len > 0) {
    size_t used;
    int rv;
    if (n->partial.len == 0 && len >= FRAME_HDR &&
        len - FRAME_HDR >= frame_len(in)) {
      used = FRAME_HDR + frame_len(in);
      rv = on_frame(n, in + FRAME_HDR, used - FRAME_HDR);
    } else {
      rv = stage(n, in, len, &used);
    }
    if (rv != 0) {
      return rv;
    }
    in += used;
    len -= used;
  }
  return 0;
}

/* A staged frame counts as if decrypted already: its plaintext lands in
 * `plain` when its last bytes arrive. */
size_t lp2p_noise_recv_room(const lp2p_noise *n) {
  size_t held = (n->plain_read ? 0 : n->plain.len) + n->partial.len;
  return held < n->max_recv ? n->max_recv - held : 0;
}

int lp2p_noise_recv(lp2p_noise *n, const uint8_t *in, size_t len,
                    lp2p_tstamp now) {
  (void)now; /* the deadline is enforced by handle_expiry alone */
  if (n->state == ST_FAILED) {
    return LP2P_ERR_STATE;
  }
  if (len > lp2p_noise_recv_room(n)) {
    return LP2P_ERR_TOO_LARGE;
  }
  reclaim_out(n);
  reclaim_plain(n);
  int rv = feed(n, in, len);
  return rv == 0 ? 0 : fail(n, rv);
}

ssize_t lp2p_noise_read(lp2p_noise *n, const uint8_t **out) {
  *out = NULL;
  if (n->state == ST_FAILED) {
    return LP2P_ERR_STATE;
  }
  reclaim_plain(n);
  if (n->state != ST_TRANSPORT || n->plain.len == 0) {
    return 0;
  }
  *out = n->plain.data;
  n->plain_read = true;
  return (ssize_t)n->plain.len;
}

/* How much of `len` plaintext bytes fits in the send buffer, and the
 * bytes it takes once framed (2 + 16 per frame of up to
 * LP2P_NOISE_MAX_PLAINTEXT bytes). */
static size_t writable(const lp2p_noise *n, size_t len, size_t *framed) {
  const size_t frame = FRAME_HDR + LP2P_NOISE_MAX_MESSAGE;
  const size_t overhead = FRAME_HDR + LP2P_NOISE_TAG_LEN;
  size_t space = n->out.len < n->max_send ? n->max_send - n->out.len : 0;
  size_t rem = space % frame;
  size_t fits = space / frame * LP2P_NOISE_MAX_PLAINTEXT +
                (rem > overhead ? rem - overhead : 0);
  size_t take = len < fits ? len : fits;
  size_t frames =
      (take + LP2P_NOISE_MAX_PLAINTEXT - 1) / LP2P_NOISE_MAX_PLAINTEXT;
  *framed = take + frames * overhead;
  return take;
}

/* One transport frame of `len` <= LP2P_NOISE_MAX_PLAINTEXT bytes, in
 * space already reserved. */
static int put_frame(lp2p_noise *n, const uint8_t *data, size_t len) {
  size_t msg_len = len + LP2P_NOISE_TAG_LEN;
  uint8_t *p = n->out.data + n->out.len;
  int rv = lp2p_noise_cipher_encrypt(&n->tx, NULL, 0, data, len, p + FRAME_HDR);
  if (rv == 0) {
    p[0] = (uint8_t)(msg_len >> 8);
    p[1] = (uint8_t)msg_len;
    n->out.len += FRAME_HDR + msg_len;
  }
  return rv;
}

/* Space for every frame is reserved first, so that an allocation failure
 * leaves nothing half written. */
ssize_t lp2p_noise_write(lp2p_noise *n, const uint8_t *data, size_t len) {
  size_t framed, done = 0;
  if (n->state != ST_TRANSPORT) {
    return LP2P_ERR_STATE;
  }
  reclaim_out(n);
  size_t take = writable(n, len, &framed);
  if (take == 0) {
    return 0;
  }
  int rv = lp2p_buf_reserve(&n->out, framed);
  if (rv != 0) {
    return rv;
  }
  while (done < take) {
    size_t chunk = take - done < LP2P_NOISE_MAX_PLAINTEXT
                       ? take - done
                       : LP2P_NOISE_MAX_PLAINTEXT;
    rv = put_frame(n, data + done, chunk);
    if (rv != 0) {
      return fail(n, rv); /* the send nonce is exhausted */
    }
    done += chunk;
  }
  return (ssize_t)take;
}

int lp2p__noise_area(lp2p_noise *n, size_t want, uint8_t **area, size_t *room) {
  const size_t overhead = FRAME_HDR + LP2P_NOISE_TAG_LEN;
  *area = NULL;
  *room = 0;
  if (n->state != ST_TRANSPORT) {
    return LP2P_ERR_STATE;
  }
  reclaim_out(n);
  size_t space = n->out.len < n->max_send ? n->max_send - n->out.len : 0;
  if (space <= overhead) {
    return 0;
  }
  size_t most = space - overhead < LP2P_NOISE_MAX_PLAINTEXT
                    ? space - overhead
                    : LP2P_NOISE_MAX_PLAINTEXT;
  /* all the buffer already has (lp2p_buf keeps one byte spare), at least
   * `want`: an idle connection's buffer stays as small as its messages */
  size_t used = n->out.len + overhead + 1;
  size_t fits = n->out.cap > used ? n->out.cap - used : 0;
  fits = fits > want ? fits : want;
  fits = fits < most ? fits : most;
  int rv = lp2p_buf_reserve(&n->out, overhead + fits);
  if (rv != 0) {
    return rv;
  }
  *area = n->out.data + n->out.len + FRAME_HDR;
  *room = fits;
  return 0;
}

int lp2p__noise_seal(lp2p_noise *n, size_t len) {
  if (n->state != ST_TRANSPORT) {
    return LP2P_ERR_STATE;
  }
  if (len == 0 || len > LP2P_NOISE_MAX_PLAINTEXT ||
      n->out.len + FRAME_HDR + len + LP2P_NOISE_TAG_LEN >= n->out.cap) {
    return LP2P_ERR_INVALID_ARG; /* not within the area */
  }
  uint8_t *p = n->out.data + n->out.len + FRAME_HDR;
  int rv = put_frame(n, p, len); /* libsodium encrypts in place */
  return rv == 0 ? 0 : fail(n, rv);
}

ssize_t lp2p_noise_pull(lp2p_noise *n, const uint8_t **out, lp2p_tstamp now) {
  (void)now;
  *out = NULL;
  if (n->state == ST_FAILED) {
    return LP2P_ERR_STATE;
  }
  reclaim_out(n);
  if (n->out.len == 0) {
    if (n->out_idle) {
      drop_if_large(&n->out);
    }
    n->out_idle = true;
    return 0;
  }
  *out = n->out.data;
  n->out_pulled = true;
  n->out_idle = false;
  return (ssize_t)n->out.len;
}

lp2p_tstamp lp2p_noise_expiry(const lp2p_noise *n) {
  return n->state < ST_TRANSPORT ? n->deadline : LP2P_TSTAMP_NEVER;
}

int lp2p_noise_handle_expiry(lp2p_noise *n, lp2p_tstamp now) {
  if (n->state == ST_FAILED) {
    return LP2P_ERR_STATE;
  }
  if (n->state < ST_TRANSPORT && n->deadline != LP2P_TSTAMP_NEVER &&
      now >= n->deadline) {
    return fail(n, LP2P_ERR_TIMEOUT);
  }
  return 0;
}

bool lp2p_noise_is_established(const lp2p_noise *n) {
  return n->state == ST_TRANSPORT;
}

const lp2p_noise_peer *lp2p_noise_remote(const lp2p_noise *n) {
  return n->state == ST_TRANSPORT ? &n->peer : NULL;
}

void lp2p_noise_set_nonces(lp2p_noise *n, uint64_t tx, uint64_t rx) {
  n->tx.n = tx;
  n->rx.n = rx;
}
