/* identify and identify push, served by the host: every new connection
 * asks its peer to identify itself; every identify request is answered
 * with our key, listen addresses, protocols, the address we see the peer
 * at, our agent and a signed peer record; a push replaces what the peer
 * said before. Built on the public stream API like any application. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/mem.h"
#include "host/internal.h"

#define PROTOCOL_VERSION "ipfs/0.1.0"

static const char *const identify_protocols[] = {LP2P_IDENTIFY_PROTOCOL_ID};

bool lp2p__service_is_builtin(const char *protocol) {
  return strcmp(protocol, LP2P_IDENTIFY_PROTOCOL_ID) == 0 ||
         strcmp(protocol, LP2P_IDENTIFY_PUSH_PROTOCOL_ID) == 0 ||
         strcmp(protocol, LP2P_PING_PROTOCOL_ID) == 0;
}

void lp2p__identify_invalidate(lp2p_host *h) {
  lp2p_buf_free(&h->record);
}

/* Our listen addresses (without /p2p/) into `id`, views into `storage`. */
static void fill_addrs(lp2p_host *h, lp2p_identify *id, lp2p_buf *storage) {
  if (lp2p_host_listen_addrs(h, false, storage) < 0) {
    return;
  }
  size_t off = 0;
  while (off < storage->len && id->naddrs < LP2P_PEER_RECORD_MAX_ADDRS) {
    uint64_t len;
    int n = lp2p_uvarint_decode(storage->data + off, storage->len - off, &len);
    if (n < 0 || len > storage->len - off - (size_t)n) {
      return;
    }
    id->listen_addrs[id->naddrs++] =
        (lp2p_bytes){storage->data + off + (size_t)n, (size_t)len};
    off += (size_t)n + (size_t)len;
  }
}

/* The signed peer record of our listen addresses, made once and again
 * whenever they change; its seq is the wall clock in nanoseconds, as in
 * go-libp2p, so that a restarted node's records supersede older ones. */
static const lp2p_buf *signed_record(lp2p_host *h, const lp2p_identify *id) {
  if (h->record.len > 0) {
    return &h->record;
  }
  lp2p_peer_record rec;
  memset(&rec, 0, sizeof(rec));
  rec.peer_id = h->peer_id;
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  uint64_t seq = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
  h->record_seq = seq > h->record_seq ? seq : h->record_seq + 1;
  rec.seq = h->record_seq;
  for (size_t i = 0; i < id->naddrs; i++) {
    rec.addrs[rec.naddrs++] = (lp2p_peer_record_addr){id->listen_addrs[i].data,
                                                      id->listen_addrs[i].len};
  }
  if (lp2p_peer_record_seal(&h->key, &rec, &h->record) != 0) {
    lp2p_buf_free(&h->record);
  }
  return &h->record;
}

/* What we answer on `c`: a message or two, length-prefixed. */
static int build_answer(lp2p_conn *c, lp2p_buf *out) {
  lp2p_host *h = c->host;
  lp2p_identify id;
  memset(&id, 0, sizeof(id));
  uint8_t pk[LP2P_PUBKEY_PB_MAX];
  int pklen = lp2p_pubkey_marshal(&h->pubkey, pk, sizeof(pk));
  if (pklen < 0) {
    return pklen;
  }
  id.public_key = (lp2p_bytes){pk, (size_t)pklen};
  lp2p_buf addrs;
  lp2p_buf_init(&addrs, h->mem);
  fill_addrs(h, &id, &addrs);
  for (size_t i = 0; i < h->nprotocols && i < LP2P_IDENTIFY_MAX_PROTOCOLS;
       i++) {
    id.protocols[id.nprotocols++] =
        (lp2p_bytes){(const uint8_t *)h->protocols[i], strlen(h->protocols[i])};
  }
  if (c->remote_addr.len > 0) {
    id.observed_addr = (lp2p_bytes){c->remote_addr.data, c->remote_addr.len};
  }
  id.protocol_version =
      (lp2p_bytes){(const uint8_t *)PROTOCOL_VERSION, strlen(PROTOCOL_VERSION)};
  id.agent_version = (lp2p_bytes){(const uint8_t *)h->agent, strlen(h->agent)};
  const lp2p_buf *rec = signed_record(h, &id);
  if (rec->len > 0) {
    id.signed_peer_record = (lp2p_bytes){rec->data, rec->len};
  }
  int rv = lp2p_identify_write(&id, out);
  lp2p_buf_free(&addrs);
  return rv;
}

/* ---- answering ---------------------------------------------------------- */

typedef struct id_answer {
  lp2p_buf out;
  size_t off;
} id_answer;

static void answer_write(lp2p_stream *s, void *user) {
  id_answer *a = user;
  while (a->off < a->out.len) {
    ssize_t n = lp2p_stream_write(s, a->out.data + a->off, a->out.len - a->off);
    if (n <= 0) {
      if (n < 0) {
        (void)lp2p_stream_reset(s);
      }
      return;
    }
    a->off += (size_t)n;
  }
  if (a->out.len > 0) {
    lp2p_buf_free(&a->out);
    a->off = 0;
    (void)lp2p_stream_close(s);
  }
}

/* The requester sends nothing; whatever it sends is read and dropped so
 * that its close is seen. */
static void discard(lp2p_stream *s, void *user) {
  (void)user;
  uint8_t buf[256];
  while (lp2p_stream_read(s, buf, sizeof(buf), NULL) > 0) {
  }
}

static void answer_closed(lp2p_stream *s, lp2p_stream_end why, void *user) {
  (void)why;
  id_answer *a = user;
  lp2p_buf_free(&a->out);
  lp2p_free(lp2p_stream_conn(s)->host->mem, a);
}

static void serve_identify(lp2p_stream *s) {
  static const lp2p_stream_callbacks cb = {
      .readable = discard, .writable = answer_write, .closed = answer_closed};
  lp2p_conn *c = lp2p_stream_conn(s);
  id_answer *a = lp2p_calloc(c->host->mem, 1, sizeof(*a));
  if (!a) {
    (void)lp2p_stream_reset(s);
    return;
  }
  lp2p_buf_init(&a->out, c->host->mem);
  lp2p_stream_set_callbacks(s, &cb, a);
  if (build_answer(c, &a->out) != 0) {
    (void)lp2p_stream_reset(s);
    return;
  }
  answer_write(s, a);
}

/* ---- asking, and receiving pushes --------------------------------------- */

typedef struct id_reader {
  lp2p_buf in;
  bool done; /* the answer was taken; later wake-ups have nothing new */
} id_reader;

/* The whole stream has arrived: check it and keep it. */
static int accept_answer(lp2p_conn *c, id_reader *r) {
  lp2p_identify id;
  lp2p_identify_verified v;
  int rv = lp2p_identify_read(r->in.data, r->in.len, &id);
  if (rv == 0) {
    rv = lp2p_identify_verify(&id, &c->peer_id, &v);
  }
  if (rv != 0) {
    return rv;
  }
  lp2p_buf tmp = c->identify;
  c->identify = r->in;
  r->in = tmp;
  c->has_identify = true;
  lp2p_host *h = c->host;
  if (h->cb.identified) {
    h->cb.identified(h, c, h->user);
  }
  return 0;
}

static void reader_readable(lp2p_stream *s, void *user) {
  id_reader *r = user;
  lp2p_conn *c = lp2p_stream_conn(s);
  while (!r->done) {
    uint8_t buf[2048];
    bool eof;
    ssize_t n = lp2p_stream_read(s, buf, sizeof(buf), &eof);
    if (n < 0) {
      return;
    }
    if (n == 0) {
      if (eof) {
        r->done = true;
        if (accept_answer(c, r) != 0) {
          (void)lp2p_stream_reset(s); /* a bad answer is ignored */
        } else if (!lp2p_stream_outbound(s)) {
          (void)lp2p_stream_close(s); /* a push: our side ends too */
        }
      }
      return;
    }
    if (r->in.len + (size_t)n > LP2P_IDENTIFY_MAX_STREAM ||
        lp2p_buf_append(&r->in, buf, (size_t)n) != 0) {
      (void)lp2p_stream_reset(s);
      return;
    }
  }
}

static void reader_closed(lp2p_stream *s, lp2p_stream_end why, void *user) {
  (void)why;
  id_reader *r = user;
  lp2p_buf_free(&r->in);
  lp2p_free(lp2p_stream_conn(s)->host->mem, r);
}

static void start_reader(lp2p_stream *s) {
  static const lp2p_stream_callbacks cb = {.readable = reader_readable,
                                           .closed = reader_closed};
  lp2p_conn *c = lp2p_stream_conn(s);
  id_reader *r = lp2p_calloc(c->host->mem, 1, sizeof(*r));
  if (!r) {
    (void)lp2p_stream_reset(s);
    return;
  }
  lp2p_buf_init(&r->in, c->host->mem);
  lp2p_stream_set_callbacks(s, &cb, r);
}

static void on_identify_open(lp2p_conn *c, lp2p_stream *s, int err,
                             void *user) {
  (void)c;
  (void)user;
  if (err == 0) {
    start_reader(s);
    (void)lp2p_stream_close(s); /* we have nothing to say */
  }
}

void lp2p__identify_request(lp2p_conn *c) {
  (void)lp2p_conn_open_stream(c, identify_protocols, 1, on_identify_open, NULL);
}

void lp2p__service_handle(lp2p_stream *s) {
  const char *p = lp2p_stream_protocol(s);
  if (strcmp(p, LP2P_IDENTIFY_PROTOCOL_ID) == 0) {
    serve_identify(s);
  } else if (strcmp(p, LP2P_IDENTIFY_PUSH_PROTOCOL_ID) == 0) {
    start_reader(s);
  } else {
    lp2p__ping_serve(s);
  }
}
