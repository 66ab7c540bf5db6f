/* One QUIC v1 connection over ngtcp2 (net/quic.h). Pinned to the ngtcp2
 * 0.12 API of Debian 12 (libngtcp2-dev 0.12.1): 1.x renamed the
 * versioned constructors, ngtcp2_path's storage and the close-error
 * calls, so a port touches this file only.
 *
 * ngtcp2 keeps pointers into the data it sent until the peer acknowledges
 * it (to retransmit), so each stream's unacknowledged bytes live in
 * chunks that never move, sized to what was written (a stream that only
 * negotiated holds a few dozen bytes, not CHUNK_SIZE); acknowledged chunks
 * are freed, the last one too. */
#include "net/quic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include "base/mem.h"
#include "crypto/tls_cert.h"
#include "crypto/tlslib.h"
#include "lp2p/net.h"
#include "lp2p/tls.h"

#define CHUNK_SIZE 16384u
#define MIN_CHUNK 128u
#define CID_LEN LP2P__QUIC_CID_LEN
#define MAX_DATAGRAM 1500u
/* Application error code of a stream reset and of a clean close. */
#define APP_ERR_RESET 0u
#define APP_ERR_NONE 0u
/* TLS alert no_application_protocol: CONNECTION_CLOSE 0x178 (RFC 9001
 * 8.1) when the peer did not agree ALPN "libp2p". */
#define ALERT_NO_APPLICATION_PROTOCOL 120u

/* TLS 1.3 only, the ciphers QUIC defines, no middlebox compatibility
 * mode (RFC 9001 section 8.4). */
static const char priority[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"
    "+CHACHA20-POLY1305:+AES-128-CCM:%DISABLE_TLS13_COMPAT_MODE";

typedef struct chunk {
  struct chunk *next;
  size_t len, cap;
  uint8_t data[];
} chunk;

typedef struct qstream {
  struct qstream *prev, *next;
  int64_t id;
  void *user;
  lp2p_mss *mss;        /* while negotiating */
  lp2p_tstamp deadline; /* for the negotiation */
  char *protocol;       /* once agreed */
  bool inbound;
  bool known; /* the application knows it: callbacks name it */
  bool done;  /* its final callback ran (or the application reset it) */
  bool fin;   /* the application closed it for writing */
  bool fin_sent;
  bool write_stopped; /* the peer's STOP_SENDING: nothing more goes out */
  bool read_stopped;  /* ours: what arrives is dropped */
  bool end_told;
  bool want_writable;
  bool skip; /* blocked during this _pull */
  chunk *head, *tail;
  size_t head_acked; /* bytes of head acknowledged */
  chunk *send;       /* next unsent byte: send->data[send_off] */
  size_t send_off;
  size_t buffered;   /* written and not acknowledged */
  size_t unconsumed; /* delivered and not given back */
  /* reserved in the budget: the unconsumed bytes (send chunks are not
   * charged: see lp2p__quic_settings.budget) */
  uint64_t charged;
} qstream;

struct lp2p__quic {
  ngtcp2_crypto_conn_ref conn_ref; /* GnuTLS's session pointer */
  const lp2p_mem *mem;
  ngtcp2_mem ngmem; /* the same allocator, for ngtcp2's own state */
  lp2p__quic_settings set;
  lp2p__quic_callbacks cb;
  void *user;
  bool is_client;
  bool peer_reset; /* a stateless reset ended it */
  ngtcp2_conn *conn;
  gnutls_session_t tls;
  gnutls_certificate_credentials_t cred;
  lp2p_tls_cert *cert;
  lp2p__quic_addr local, remote;
  uint32_t local_len, remote_len;
  qstream *streams;
  lp2p_tstamp now;
  bool verified, established, ended;
  lp2p_peer_id peer_id;
  ngtcp2_cid first_dcid; /* a server's: what the client's Initials carry */
  lp2p_pubkey peer_key;
  uint8_t out[MAX_DATAGRAM];
  size_t close_len;    /* a CONNECTION_CLOSE in out[] waiting for _pull */
  uint8_t close_alert; /* a TLS alert our CONNECTION_CLOSE names, or 0 */
  int err;
  char msg[192];
  lp2p__quic_stats stats;
};

/* ---- streams: the budget ------------------------------------------------ */

/* Reserves `n` delivered bytes the stream is to hold in the connection's
 * budget. Returns 0 or LP2P_ERR_TOO_LARGE. */
static int charge(lp2p__quic *q, qstream *st, size_t n) {
  if (!q->set.budget || n == 0) {
    return 0;
  }
  int rv = lp2p_budget_reserve(q->set.budget, n);
  if (rv == 0) {
    st->charged += n;
  }
  return rv;
}

/* Gives back `n` bytes the stream no longer holds (at most what it
 * reserved: a budget set after it held bytes never saw those). */
static void uncharge(lp2p__quic *q, qstream *st, uint64_t n) {
  n = n < st->charged ? n : st->charged;
  if (n > 0) {
    st->charged -= n;
    lp2p_budget_release(q->set.budget, n);
  }
}

/* ---- failure ------------------------------------------------------------ */

static void set_error(lp2p__quic *q, int err, const char *fmt,
                      const char *detail) {
  if (q->err == 0 && q->msg[0] == 0) {
    q->err = err;
    snprintf(q->msg, sizeof(q->msg), fmt, detail);
  }
}

/* The connection ended: every stream the application knows is reset with
 * its error, as lp2p_session promises (streams end with a callback). */
static void end_streams(lp2p__quic *q) {
  for (qstream *st = q->streams; st; st = st->next) {
    uncharge(q, st, st->unconsumed); /* nobody can consume them now */
    st->unconsumed = 0;
    if (!st->done) {
      st->done = true;
      if (st->known && q->cb.stream_reset) {
        q->cb.stream_reset(q, (uint64_t)st->id, st->user, q->err, q->user);
      }
    }
  }
}

/* Ends the connection: `liberr` (an ngtcp2 error) decides what
 * CONNECTION_CLOSE tells the peer (q->close_alert overrides it); none when
 * it is draining or idle. */
static int end_conn(lp2p__quic *q, int err, const char *fmt, const char *detail,
                    int liberr) {
  if (q->ended) {
    return q->err;
  }
  set_error(q, err, fmt, detail);
  q->ended = true;
  if (liberr != NGTCP2_ERR_DRAINING && liberr != NGTCP2_ERR_IDLE_CLOSE &&
      liberr != NGTCP2_ERR_HANDSHAKE_TIMEOUT && liberr != NGTCP2_ERR_CLOSING &&
      liberr != NGTCP2_ERR_DROP_CONN) {
    ngtcp2_connection_close_error ccerr;
    if (q->close_alert != 0) {
      ngtcp2_connection_close_error_set_transport_error_tls_alert(
          &ccerr, q->close_alert, NULL, 0);
    } else if (liberr == NGTCP2_ERR_CRYPTO) {
      ngtcp2_connection_close_error_set_transport_error_tls_alert(
          &ccerr, ngtcp2_conn_get_tls_alert(q->conn), NULL, 0);
    } else {
      ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, liberr,
                                                               NULL, 0);
    }
    ngtcp2_ssize n = ngtcp2_conn_write_connection_close(
        q->conn, NULL, NULL, q->out, sizeof(q->out), &ccerr, q->now);
    q->close_len = n > 0 ? (size_t)n : 0;
  }
  end_streams(q);
  if (q->cb.closed) {
    q->cb.closed(q, q->err, q->msg, q->user);
  }
  return q->err;
}

/* The peer ended the connection: a CONNECTION_CLOSE without error is a
 * clean close (LP2P_ERR_CLOSED, as a TCP peer's FIN), one with an error
 * or a stateless reset a failure. */
static int peer_ended(lp2p__quic *q) {
  if (q->peer_reset) {
    return end_conn(q, LP2P_ERR_PROTOCOL, "QUIC: %s",
                    "the peer reset the connection (stateless reset)",
                    NGTCP2_ERR_DRAINING);
  }
  ngtcp2_connection_close_error ccerr;
  ngtcp2_conn_get_connection_close_error(q->conn, &ccerr);
  if (ccerr.error_code == 0) {
    return end_conn(q, LP2P_ERR_CLOSED, "QUIC: %s",
                    "the peer closed the connection", NGTCP2_ERR_DRAINING);
  }
  char detail[96];
  snprintf(detail, sizeof(detail),
           "the peer closed the connection with %s error 0x%llx",
           ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION
               ? "application"
               : "transport",
           (unsigned long long)ccerr.error_code);
  return end_conn(q, LP2P_ERR_PROTOCOL, "QUIC: %s", detail,
                  NGTCP2_ERR_DRAINING);
}

/* ngtcp2's error as ours: a timeout, the peer's close, a refusal. */
static int fail_liberr(lp2p__quic *q, int liberr) {
  if (liberr == NGTCP2_ERR_IDLE_CLOSE) {
    return end_conn(q, LP2P_ERR_TIMEOUT, "QUIC: %s", "idle timeout", liberr);
  }
  if (liberr == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
    return end_conn(q, LP2P_ERR_TIMEOUT, "QUIC: %s", "handshake timed out",
                    liberr);
  }
  if (liberr == NGTCP2_ERR_DRAINING) {
    return peer_ended(q);
  }
  if (liberr == NGTCP2_ERR_NOMEM) {
    return end_conn(q, LP2P_ERR_NOMEM, "QUIC: %s", "out of memory", liberr);
  }
  return end_conn(q, LP2P_ERR_PROTOCOL, "QUIC: %s", ngtcp2_strerror(liberr),
                  liberr);
}

/* ---- streams: send buffers ---------------------------------------------- */

static qstream *stream_new(lp2p__quic *q, int64_t id, bool inbound) {
  qstream *st = lp2p_calloc(q->mem, 1, sizeof(*st));
  if (!st) {
    return NULL;
  }
  st->id = id;
  st->inbound = inbound;
  st->next = q->streams;
  if (q->streams) {
    q->streams->prev = st;
  }
  q->streams = st;
  (void)ngtcp2_conn_set_stream_user_data(q->conn, id, st);
  return st;
}

static void stream_free(lp2p__quic *q, qstream *st) {
  uncharge(q, st, st->charged);
  if (st->prev) {
    st->prev->next = st->next;
  } else {
    q->streams = st->next;
  }
  if (st->next) {
    st->next->prev = st->prev;
  }
  while (st->head) {
    chunk *c = st->head;
    st->head = c->next;
    lp2p_free(q->mem, c);
  }
  lp2p_mss_del(st->mss);
  lp2p_free(q->mem, st->protocol);
  lp2p_free(q->mem, st);
}

static qstream *lookup(lp2p__quic *q, uint64_t id) {
  for (qstream *st = q->streams; st; st = st->next) {
    if ((uint64_t)st->id == id && !st->done) {
      return st;
    }
  }
  return NULL;
}

/* A chunk for `want` more bytes: as large as them, at least twice the
 * last one (few allocations for a bulk writer), at most CHUNK_SIZE. */
static size_t chunk_cap(const qstream *st, size_t want) {
  size_t cap = want < MIN_CHUNK ? MIN_CHUNK : want;
  if (st->tail && cap < 2 * st->tail->cap) {
    cap = 2 * st->tail->cap;
  }
  return cap < CHUNK_SIZE ? cap : CHUNK_SIZE;
}

/* A new send chunk for `want` more bytes, or NULL. */
static chunk *chunk_new(lp2p__quic *q, const qstream *st, size_t want) {
  size_t cap = chunk_cap(st, want);
  chunk *c = lp2p_malloc(q->mem, sizeof(*c) + cap);
  if (c) {
    c->cap = cap;
  }
  return c;
}

/* Appends to the send chunks; returns the bytes taken or LP2P_ERR_NOMEM. */
static ssize_t sendq_append(lp2p__quic *q, qstream *st, const uint8_t *p,
                            size_t n) {
  size_t taken = 0;
  while (taken < n) {
    if (!st->tail || st->tail->len == st->tail->cap) {
      chunk *c = chunk_new(q, st, n - taken);
      if (!c && taken > 0) { /* a short count promises stream_writable */
        st->buffered += taken;
        st->want_writable = true;
        return (ssize_t)taken;
      }
      if (!c) {
        return LP2P_ERR_NOMEM;
      }
      c->next = NULL;
      c->len = 0;
      if (st->tail) {
        st->tail->next = c;
      } else {
        st->head = c;
        st->head_acked = 0;
      }
      st->tail = c;
      if (!st->send) {
        st->send = c;
        st->send_off = 0;
      }
    }
    size_t k = st->tail->cap - st->tail->len;
    k = k < n - taken ? k : n - taken;
    memcpy(st->tail->data + st->tail->len, p + taken, k);
    st->tail->len += k;
    taken += k;
  }
  st->buffered += taken;
  return (ssize_t)taken;
}

/* The unsent bytes of the current chunk (moving past sent-out chunks). */
static size_t unsent_span(qstream *st, const uint8_t **p) {
  while (st->send && st->send_off == st->send->len && st->send->next) {
    st->send = st->send->next;
    st->send_off = 0;
  }
  if (!st->send) {
    return 0;
  }
  *p = st->send->data + st->send_off;
  return st->send->len - st->send_off;
}

static void sent(qstream *st, size_t n) {
  st->send_off += n;
}

/* The peer acknowledged `n` more bytes (ngtcp2 reports them in order):
 * chunks fully acknowledged (hence sent) go, the last one too, so that an
 * idle stream holds no send buffer. */
static void acked(lp2p__quic *q, qstream *st, size_t n) {
  st->buffered -= n < st->buffered ? n : st->buffered;
  while (n > 0 && st->head) {
    size_t k = st->head->len - st->head_acked;
    k = k < n ? k : n;
    st->head_acked += k;
    n -= k;
    if (st->head_acked == st->head->len) {
      chunk *c = st->head;
      st->head = c->next;
      st->head_acked = 0;
      if (st->tail == c) {
        st->tail = NULL;
      }
      if (st->send == c) {
        st->send = st->head;
        st->send_off = 0;
      }
      lp2p_free(q->mem, c);
    }
  }
  if (st->want_writable && st->buffered < q->set.max_send_buffer) {
    st->want_writable = false;
    if (q->cb.stream_writable && st->known && !st->done) {
      q->cb.stream_writable(q, (uint64_t)st->id, st->user, q->user);
    }
  }
}

/* ---- streams: negotiation and data -------------------------------------- */

/* A stream ended: the bytes it delivered and the application did not
 * give back go back to the connection's window now (nobody can consume
 * them any more; two reset streams would otherwise stall it for good). */
static void release_unconsumed(lp2p__quic *q, qstream *st) {
  if (st->unconsumed > 0) {
    ngtcp2_conn_extend_max_offset(q->conn, st->unconsumed);
    uncharge(q, st, st->unconsumed);
    st->unconsumed = 0;
  }
}

/* Resets a stream for `err`, telling the application if it knows it. */
static void stream_fail(lp2p__quic *q, qstream *st, int err) {
  if (st->done) {
    return;
  }
  st->done = true;
  release_unconsumed(q, st);
  (void)ngtcp2_conn_shutdown_stream(q->conn, st->id, APP_ERR_RESET);
  if (st->known && q->cb.stream_reset) {
    q->cb.stream_reset(q, (uint64_t)st->id, st->user, err, q->user);
  }
}

static bool flush_mss(lp2p__quic *q, qstream *st) {
  const uint8_t *p;
  ssize_t n;
  while (st->mss && (n = lp2p_mss_pull(st->mss, &p, q->now)) > 0) {
    if (sendq_append(q, st, p, (size_t)n) != n) {
      stream_fail(q, st, LP2P_ERR_NOMEM);
      return false;
    }
  }
  return true;
}

static void give_credit(lp2p__quic *q, qstream *st, size_t n) {
  (void)ngtcp2_conn_extend_max_stream_offset(q->conn, st->id, n);
  ngtcp2_conn_extend_max_offset(q->conn, n);
}

static void deliver(lp2p__quic *q, qstream *st, const uint8_t *p, size_t n) {
  if (n == 0) {
    return;
  }
  if (st->done || st->read_stopped) { /* dropped: the window moves */
    ngtcp2_conn_extend_max_offset(q->conn, n);
  } else if (q->cb.stream_data && charge(q, st, n) != 0) {
    /* within its window but past the budget: reset, never held, as over
     * TCP (session.c's deliver); unlike yamux's, QUIC's connection window
     * counts these bytes, so they are credited back to it at once */
    q->stats.streams_reset_budget++;
    ngtcp2_conn_extend_max_offset(q->conn, n);
    stream_fail(q, st, LP2P_ERR_TOO_LARGE);
  } else if (q->cb.stream_data) {
    st->unconsumed += n;
    q->cb.stream_data(q, (uint64_t)st->id, st->user, p, n, q->user);
  } else {
    give_credit(q, st, n); /* nobody holds them */
  }
}

/* Whether the negotiation ended with a protocol; then its name is copied
 * and the negotiation freed (an open stream keeps no multistream-select
 * state: its 1 KiB message buffer would dwarf an idle stream). */
static bool negotiated(lp2p__quic *q, qstream *st) {
  const char *name;
  size_t len;
  if (lp2p_mss_result(st->mss, &name, &len) != 1) {
    return false;
  }
  st->protocol = lp2p_malloc(q->mem, len + 1);
  if (!st->protocol) {
    stream_fail(q, st, LP2P_ERR_NOMEM);
    return false;
  }
  memcpy(st->protocol, name, len + 1);
  lp2p_mss_del(st->mss);
  st->mss = NULL;
  return true;
}

static void negotiate_input(lp2p__quic *q, qstream *st, const uint8_t *p,
                            size_t n) {
  int rv = lp2p_mss_recv(st->mss, p, n, q->now);
  if (rv < 0) {
    stream_fail(q, st, rv == LP2P_ERR_UNSUPPORTED ? rv : LP2P_ERR_PROTOCOL);
    return;
  }
  give_credit(q, st, (size_t)rv); /* negotiation bytes are ours */
  if (!flush_mss(q, st)) {
    return;
  }
  if (!negotiated(q, st)) {
    return;
  }
  st->known = true;
  if (q->cb.stream_opened) {
    q->cb.stream_opened(q, (uint64_t)st->id, st->protocol, st->inbound,
                        &st->user, q->user);
  }
  deliver(q, st, p + rv, n - (size_t)rv);
}

static bool negotiating(const qstream *st) {
  return st->mss != NULL;
}

static int mss_accept(lp2p_mss *m, const char *proto, size_t len, void *user) {
  (void)m;
  lp2p__quic *q = user;
  return q->cb.accept ? q->cb.accept(q, proto, len, q->user) : 0;
}

static int start_mss(lp2p__quic *q, qstream *st, const char *const *protos,
                     size_t n) {
  static const lp2p_mss_callbacks mcb = {.match = mss_accept};
  lp2p_mss_settings ms;
  lp2p_mss_settings_default(&ms);
  ms.role = st->inbound ? LP2P_MSS_LISTENER : LP2P_MSS_DIALER;
  ms.protocols = protos;
  ms.nprotocols = n;
  /* st->deadline bounds it (keep-alive PINGs are ACKed, so the idle
   * timeout does not bound a peer that stalls a stream) */
  ms.timeout = 0;
  lp2p_tstamp span = q->set.negotiate_timeout;
  st->deadline =
      span >= LP2P_TSTAMP_NEVER - q->now ? LP2P_TSTAMP_NEVER : q->now + span;
  int rv = lp2p_mss_new(&st->mss, &ms, &mcb, q->mem, q);
  if (rv != 0) {
    return rv;
  }
  return flush_mss(q, st) ? 0 : LP2P_ERR_NOMEM;
}

/* ---- ngtcp2's callbacks ------------------------------------------------- */

static void rand_cb(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx) {
  lp2p__quic *q = ctx->native_handle;
  q->set.rand_fn(dest, len, q->set.rand_user);
}

/* The stateless reset token of `cid`: from the reset secret when there
 * is one (an endpoint can then reset for a connection it lost). */
static int reset_token(lp2p__quic *q, const ngtcp2_cid *cid, uint8_t *token) {
  if (!q->set.reset_secret) {
    q->set.rand_fn(token, NGTCP2_STATELESS_RESET_TOKENLEN, q->set.rand_user);
    return 0;
  }
  return ngtcp2_crypto_generate_stateless_reset_token(
      token, q->set.reset_secret, q->set.reset_secret_len, cid);
}

static int new_cid_cb(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token,
                      size_t cidlen, void *user) {
  (void)conn;
  lp2p__quic *q = user;
  cid->datalen = cidlen;
  q->set.rand_fn(cid->data, cidlen, q->set.rand_user);
  return reset_token(q, cid, token) == 0 ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

static int path_challenge_cb(ngtcp2_conn *conn, uint8_t *data, void *user) {
  (void)conn;
  lp2p__quic *q = user;
  q->set.rand_fn(data, NGTCP2_PATH_CHALLENGE_DATALEN, q->set.rand_user);
  return 0;
}

/* Whether the handshake agreed ALPN "libp2p": GNUTLS_ALPN_MANDATORY
 * refuses another protocol but not none offered or none selected. */
static bool alpn_agreed(lp2p__quic *q) {
  gnutls_datum_t sel;
  return gnutls_alpn_get_selected_protocol(q->tls, &sel) == 0 &&
         sel.size == strlen(LP2P_TLS_ALPN) &&
         memcmp(sel.data, LP2P_TLS_ALPN, sel.size) == 0;
}

static int handshake_completed_cb(ngtcp2_conn *conn, void *user) {
  (void)conn;
  lp2p__quic *q = user;
  if (!q->verified) { /* GnuTLS did not ask: no certificate came */
    set_error(q, LP2P_ERR_PROTOCOL, "QUIC: %s", "the peer sent no certificate");
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  if (!q->set.test_no_alpn && !alpn_agreed(q)) { /* RFC 9001 8.1 */
    set_error(q, LP2P_ERR_PROTOCOL, "QUIC: %s",
              "the peer did not agree ALPN \"" LP2P_TLS_ALPN "\"");
    q->close_alert = ALERT_NO_APPLICATION_PROTOCOL;
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  q->established = true;
  if (q->cb.established) {
    q->cb.established(q, &q->peer_id, q->user);
  }
  return 0;
}

static size_t inbound_negotiating(const lp2p__quic *q) {
  size_t n = 0;
  for (const qstream *st = q->streams; st; st = st->next) {
    n += st->inbound && !st->done && negotiating(st) ? 1 : 0;
  }
  return n;
}

static int stream_open_cb(ngtcp2_conn *conn, int64_t id, void *user) {
  lp2p__quic *q = user;
  if (!ngtcp2_conn_is_local_stream(conn, id) && (id & 0x2) != 0) {
    return 0; /* unidirectional: libp2p has none (we allow none) */
  }
  if (inbound_negotiating(q) >= q->set.max_negotiating) {
    q->stats.negotiate_refused++; /* no state: its bytes only get credit */
    (void)ngtcp2_conn_shutdown_stream(conn, id, APP_ERR_RESET);
    return 0;
  }
  qstream *st = stream_new(q, id, true);
  if (!st) {
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  if (start_mss(q, st, q->set.protocols, q->set.nprotocols) != 0) {
    stream_fail(q, st, LP2P_ERR_NOMEM);
  }
  return 0;
}

static int recv_stream_data_cb(ngtcp2_conn *conn, uint32_t flags, int64_t id,
                               uint64_t offset, const uint8_t *data, size_t len,
                               void *user, void *stream_user) {
  (void)conn;
  (void)offset;
  lp2p__quic *q = user;
  qstream *st = stream_user;
  if (!st || st->done) {
    if (len > 0) { /* a reset stream's late bytes: let the window move */
      ngtcp2_conn_extend_max_offset(q->conn, len);
    }
    return 0;
  }
  if (negotiating(st)) {
    negotiate_input(q, st, data, len);
  } else {
    deliver(q, st, data, len);
  }
  if ((flags & NGTCP2_STREAM_DATA_FLAG_FIN) && !st->done) {
    if (negotiating(st)) { /* the peer gave up negotiating */
      stream_fail(q, st, LP2P_ERR_UNSUPPORTED);
    } else if (!st->end_told) {
      st->end_told = true;
      if (q->cb.stream_end) {
        q->cb.stream_end(q, (uint64_t)id, st->user, q->user);
      }
    }
  }
  return 0;
}

static int acked_cb(ngtcp2_conn *conn, int64_t id, uint64_t offset,
                    uint64_t len, void *user, void *stream_user) {
  (void)conn;
  (void)id;
  (void)offset;
  if (stream_user) {
    acked(user, stream_user, (size_t)len);
  }
  return 0;
}

static int stream_reset_cb(ngtcp2_conn *conn, int64_t id, uint64_t final_size,
                           uint64_t app_error, void *user, void *stream_user) {
  (void)conn;
  (void)id;
  (void)final_size;
  (void)app_error;
  qstream *st = stream_user;
  if (st && !st->read_stopped) { /* else it answers our STOP_SENDING */
    stream_fail(user, st,
                negotiating(st) ? LP2P_ERR_UNSUPPORTED : LP2P_ERR_PROTOCOL);
  }
  return 0;
}

static int stream_close_cb(ngtcp2_conn *conn, uint32_t flags, int64_t id,
                           uint64_t app_error, void *user, void *stream_user) {
  (void)app_error;
  lp2p__quic *q = user;
  qstream *st = stream_user;
  if (!ngtcp2_conn_is_local_stream(conn, id) && (id & 0x2) == 0) {
    /* max_streams bounds the peer's streams open at once, not over the
     * connection's life: ngtcp2 0.12 leaves MAX_STREAMS to us, so each
     * ended peer stream (ours or refused) is a new one for the peer, as
     * go (quic-go keeps MaxIncomingStreams open at once) */
    ngtcp2_conn_extend_max_streams_bidi(conn, 1);
  }
  if (!st) {
    return 0;
  }
  release_unconsumed(q, st); /* consuming it later finds no stream */
  if (!st->done) {
    st->done = true;
    bool reset = (flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) != 0;
    if (st->known && reset && q->cb.stream_reset) {
      q->cb.stream_reset(q, (uint64_t)id, st->user, LP2P_ERR_PROTOCOL, q->user);
    } else if (st->known && !reset && q->cb.stream_closed) {
      q->cb.stream_closed(q, (uint64_t)id, st->user, q->user);
    }
  }
  stream_free(q, st);
  return 0;
}

/* Told apart from a clean close, which also ends in draining. */
static int recv_stateless_reset_cb(ngtcp2_conn *conn,
                                   const ngtcp2_pkt_stateless_reset *sr,
                                   void *user) {
  (void)conn;
  (void)sr;
  ((lp2p__quic *)user)->peer_reset = true;
  return 0;
}

/* CRYPTO data for TLS; once the session is gone (release_tls) only a
 * 1-RTT NewSessionTicket can come (QUIC forbids KeyUpdate messages and
 * post-handshake authentication, RFC 9001 4.1.3, 4.4): we never resume,
 * so it is dropped. Anything at an earlier level then breaks the
 * handshake that ended. */
static int recv_crypto_data_cb(ngtcp2_conn *conn, ngtcp2_crypto_level level,
                               uint64_t offset, const uint8_t *data, size_t len,
                               void *user) {
  lp2p__quic *q = user;
  if (q->tls) {
    return ngtcp2_crypto_recv_crypto_data_cb(conn, level, offset, data, len,
                                             user);
  }
  if (level == NGTCP2_CRYPTO_LEVEL_APPLICATION) {
    q->stats.crypto_dropped += len;
    return 0;
  }
  set_error(q, LP2P_ERR_PROTOCOL, "QUIC: %s",
            "handshake CRYPTO data after the handshake");
  return NGTCP2_ERR_CALLBACK_FAILURE;
}

static const ngtcp2_callbacks ngtcp2_cbs = {
    .client_initial = ngtcp2_crypto_client_initial_cb,
    .recv_client_initial = ngtcp2_crypto_recv_client_initial_cb,
    .recv_crypto_data = recv_crypto_data_cb,
    .handshake_completed = handshake_completed_cb,
    .encrypt = ngtcp2_crypto_encrypt_cb,
    .decrypt = ngtcp2_crypto_decrypt_cb,
    .hp_mask = ngtcp2_crypto_hp_mask_cb,
    .recv_stream_data = recv_stream_data_cb,
    .acked_stream_data_offset = acked_cb,
    .stream_open = stream_open_cb,
    .stream_close = stream_close_cb,
    .recv_retry = ngtcp2_crypto_recv_retry_cb,
    .rand = rand_cb,
    .get_new_connection_id = new_cid_cb,
    .update_key = ngtcp2_crypto_update_key_cb,
    .stream_reset = stream_reset_cb,
    .recv_stateless_reset = recv_stateless_reset_cb,
    .delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb,
    .delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb,
    .get_path_challenge_data = path_challenge_cb,
    .version_negotiation = ngtcp2_crypto_version_negotiation_cb,
};

/* ---- TLS ---------------------------------------------------------------- */

static ngtcp2_conn *get_conn(ngtcp2_crypto_conn_ref *ref) {
  return ((lp2p__quic *)ref->user_data)->conn;
}

/* The peer's certificate, checked as over TCP (src/net/tls.c). */
static int verify_peer(gnutls_session_t sess) {
  ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(sess);
  lp2p__quic *q = ref->user_data;
  lp2p_errdetail why = {{0}};
  const lp2p_peer_id *expected = q->is_client ? q->set.remote_peer_id : NULL;
  int rv = lp2p__tls_cert_verify_session(sess, q->set.unix_time, expected,
                                         &q->peer_key, &q->peer_id, &why);
  if (rv != 0) {
    set_error(q, rv, "QUIC: peer certificate refused: %s", why.msg);
    return -1;
  }
  q->verified = true;
  return 0;
}

static int setup_tls(lp2p__quic *q, const lp2p_privkey *identity) {
  if (!q->set.cert) {
    int rv = lp2p_tls_cert_new(&q->cert, identity, q->set.unix_time,
                               q->set.rand_fn, q->set.rand_user);
    if (rv != 0) {
      return rv;
    }
  }
  if (gnutls_certificate_allocate_credentials(&q->cred) < 0) {
    return LP2P_ERR_NOMEM;
  }
  gnutls_certificate_set_verify_function(q->cred, verify_peer);
  int rv = lp2p__tls_cert_use(lp2p__quic_cert(q), q->cred);
  if (rv != 0) {
    return rv;
  }
  unsigned flags = (q->is_client ? GNUTLS_CLIENT : GNUTLS_SERVER) |
                   GNUTLS_NO_END_OF_EARLY_DATA;
  if (gnutls_init(&q->tls, flags) < 0) {
    return LP2P_ERR_NOMEM;
  }
  q->conn_ref.get_conn = get_conn;
  q->conn_ref.user_data = q;
  gnutls_session_set_ptr(q->tls, &q->conn_ref);
  gnutls_datum_t alpn = {(unsigned char *)(uintptr_t)LP2P_TLS_ALPN,
                         (unsigned)strlen(LP2P_TLS_ALPN)};
  int cfg = q->is_client
                ? ngtcp2_crypto_gnutls_configure_client_session(q->tls)
                : ngtcp2_crypto_gnutls_configure_server_session(q->tls);
  if (cfg != 0 || gnutls_priority_set_direct(q->tls, priority, NULL) < 0 ||
      gnutls_credentials_set(q->tls, GNUTLS_CRD_CERTIFICATE, q->cred) < 0 ||
      (!q->set.test_no_alpn &&
       gnutls_alpn_set_protocols(q->tls, &alpn, 1, GNUTLS_ALPN_MANDATORY) <
           0)) {
    return LP2P_ERR_CRYPTO;
  }
  if (!q->is_client) {
    gnutls_certificate_server_set_request(q->tls, GNUTLS_CERT_REQUIRE);
  }
  return 0;
}

/* Frees the TLS session and its credentials once the handshake is done
 * (~30 KiB a connection, outside lp2p_mem): ngtcp2 holds what it needs
 * after it (the 1-RTT keys, key updates derived from them, our CRYPTO
 * data to retransmit, copied when submitted). Not from an ngtcp2
 * callback: GnuTLS is on the stack there. */
static void release_tls(lp2p__quic *q) {
  if (!q->tls || !q->established) {
    return;
  }
  ngtcp2_conn_set_tls_native_handle(q->conn, NULL);
  gnutls_deinit(q->tls);
  q->tls = NULL;
  gnutls_certificate_free_credentials(q->cred);
  q->cred = NULL;
}

/* ---- life --------------------------------------------------------------- */

void lp2p__quic_settings_default(lp2p__quic_settings *s) {
  memset(s, 0, sizeof(*s));
  s->idle_timeout = 30 * LP2P_SECONDS;
  s->handshake_timeout = 10 * LP2P_SECONDS;
  s->max_streams = 256;
  s->stream_window = 256u * 1024u;
  s->conn_window = 4u * 1024u * 1024u;
  s->max_send_buffer = 1u << 20;
  s->negotiate_timeout = 10 * LP2P_SECONDS;
  s->max_negotiating = 16;
}

int lp2p__quic_addr_copy(lp2p__quic_addr *a, uint32_t *alen,
                         const struct sockaddr *sa, uint32_t len) {
  if (!sa ||
      !((sa->sa_family == AF_INET && len == sizeof(struct sockaddr_in)) ||
        (sa->sa_family == AF_INET6 && len == sizeof(struct sockaddr_in6)))) {
    return LP2P_ERR_INVALID_ARG;
  }
  memset(a, 0, sizeof(*a));
  memcpy(a, sa, len);
  *alen = len;
  return 0;
}

static int check_settings(const lp2p__quic_settings *s,
                          const lp2p_privkey *identity) {
  if (!identity || !s->rand_fn || s->unix_time <= 0 || s->max_streams == 0 ||
      s->stream_window == 0 || s->conn_window == 0 || s->max_send_buffer == 0 ||
      s->idle_timeout == 0) {
    return LP2P_ERR_INVALID_ARG;
  }
  return lp2p__tlslib_load(); /* a server's ngtcp2 reads the datagram first */
}

/* ngtcp2 0.12 carves most of its state from pools it mallocs whole and
 * fills from the start (64 packets or frames, 8 key-list blocks of 31
 * keys, 64 streams), and keeps them for the connection's life: an idle
 * connection uses the first part of each. With libc's malloc their
 * untouched pages are given back at once (else a reused heap block
 * brings its old pages in resident); ~15 KiB less RSS a connection. */
#define POOL_MIN 4096u

static void *pool_malloc(size_t n, void *user) {
  void *p = malloc(n);
  (void)user;
  if (p && n >= POOL_MIN) {
    lp2p__mem_release_pages(p, n);
  }
  return p;
}

static void libc_free(void *p, void *user) {
  (void)user;
  free(p);
}

static void *libc_calloc(size_t k, size_t n, void *user) {
  (void)user;
  return calloc(k, n);
}

static void *libc_realloc(void *p, size_t n, void *user) {
  (void)user;
  return realloc(p, n);
}

/* lp2p_mem has ngtcp2_mem's layout (user, malloc, free, calloc,
 * realloc) and the same function types: ngtcp2 allocates through ours
 * (libc's releasing pool pages; another allocator's blocks may not be
 * malloc's, so they are left alone). */
static ngtcp2_mem ngtcp2_mem_of(const lp2p_mem *m) {
  if (m == lp2p_mem_default()) {
    ngtcp2_mem lazy = {NULL, pool_malloc, libc_free, libc_calloc, libc_realloc};
    return lazy;
  }
  ngtcp2_mem nm = {m->user, m->malloc, m->free, m->calloc, m->realloc};
  return nm;
}

static int quic_alloc(lp2p__quic **out, const lp2p__quic_settings *s,
                      bool is_client, const struct sockaddr *local,
                      uint32_t local_len, const struct sockaddr *remote,
                      uint32_t remote_len, const lp2p__quic_callbacks *cb,
                      const lp2p_mem *mem, void *user, lp2p_tstamp now) {
  lp2p__quic *q = lp2p_calloc(mem, 1, sizeof(*q));
  if (!q) {
    return LP2P_ERR_NOMEM;
  }
  q->mem = mem;
  q->ngmem = ngtcp2_mem_of(lp2p_mem_or_default(mem));
  q->set = *s;
  if (cb) {
    q->cb = *cb;
  }
  q->user = user;
  q->is_client = is_client;
  q->now = now;
  *out = q;
  if (lp2p__quic_addr_copy(&q->local, &q->local_len, local, local_len) != 0 ||
      lp2p__quic_addr_copy(&q->remote, &q->remote_len, remote, remote_len) !=
          0) {
    return LP2P_ERR_INVALID_ARG;
  }
  return 0;
}

static void fill_ngtcp2_settings(lp2p__quic *q, ngtcp2_settings *ns,
                                 ngtcp2_transport_params *tp) {
  ngtcp2_settings_default(ns);
  ns->initial_ts = q->now;
  ns->rand_ctx.native_handle = q;
  ns->handshake_timeout = q->set.handshake_timeout;
  /* the window grows only by what the application consumed */
  ns->max_window = q->set.conn_window;
  ns->max_stream_window = q->set.stream_window;
  ngtcp2_transport_params_default(tp);
  tp->initial_max_streams_bidi = q->set.max_streams;
  tp->initial_max_streams_uni = 0; /* libp2p uses none */
  tp->initial_max_stream_data_bidi_local = q->set.stream_window;
  tp->initial_max_stream_data_bidi_remote = q->set.stream_window;
  tp->initial_max_data = q->set.conn_window;
  tp->max_idle_timeout = q->set.idle_timeout;
}

static ngtcp2_path conn_path(lp2p__quic *q) {
  ngtcp2_path p;
  memset(&p, 0, sizeof(p));
  p.local.addr = &q->local.sa;
  p.local.addrlen = q->local_len;
  p.remote.addr = &q->remote.sa;
  p.remote.addrlen = q->remote_len;
  return p;
}

static int finish_new(lp2p__quic *q, int rv) {
  if (rv != 0) {
    q->conn = NULL; /* 0.12 leaves it pointing at what it freed */
    return rv == NGTCP2_ERR_NOMEM ? LP2P_ERR_NOMEM : LP2P_ERR_CRYPTO;
  }
  ngtcp2_conn_set_tls_native_handle(q->conn, q->tls);
  if (q->set.keep_alive > 0) {
    ngtcp2_conn_set_keep_alive_timeout(q->conn, q->set.keep_alive);
  }
  return 0;
}

int lp2p__quic_client_new(lp2p__quic **out, const lp2p__quic_settings *s,
                          const lp2p_privkey *identity,
                          const struct sockaddr *local, uint32_t local_len,
                          const struct sockaddr *remote, uint32_t remote_len,
                          const lp2p__quic_callbacks *cb, const lp2p_mem *mem,
                          void *user, lp2p_tstamp now) {
  *out = NULL;
  int rv = check_settings(s, identity);
  lp2p__quic *q = NULL;
  if (rv == 0) {
    rv = quic_alloc(&q, s, true, local, local_len, remote, remote_len, cb, mem,
                    user, now);
  }
  if (rv == 0) {
    rv = setup_tls(q, identity);
  }
  if (rv == 0) {
    ngtcp2_cid dcid = {.datalen = CID_LEN}, scid = {.datalen = CID_LEN};
    s->rand_fn(dcid.data, CID_LEN, s->rand_user);
    s->rand_fn(scid.data, CID_LEN, s->rand_user);
    ngtcp2_settings ns;
    ngtcp2_transport_params tp;
    fill_ngtcp2_settings(q, &ns, &tp);
    ngtcp2_path path = conn_path(q);
    rv = finish_new(q, ngtcp2_conn_client_new(&q->conn, &dcid, &scid, &path,
                                              NGTCP2_PROTO_VER_V1, &ngtcp2_cbs,
                                              &ns, &tp, &q->ngmem, q));
  }
  if (rv != 0) {
    lp2p__quic_del(q);
    return rv;
  }
  *out = q;
  return 0;
}

/* Reads the client's first datagram without callbacks (the caller does
 * not have the connection yet): an Initial that ends it at once is the
 * constructor's error. */
static int read_first(lp2p__quic *q, const uint8_t *pkt, size_t len,
                      const struct sockaddr *remote, uint32_t remote_len,
                      lp2p_tstamp now) {
  lp2p__quic_callbacks cb = q->cb;
  memset(&q->cb, 0, sizeof(q->cb));
  int rv = lp2p__quic_recv(q, pkt, len, remote, remote_len, now);
  q->cb = cb;
  return rv;
}

int lp2p__quic_server_new(lp2p__quic **out, const lp2p__quic_settings *s,
                          const lp2p_privkey *identity,
                          const struct sockaddr *local, uint32_t local_len,
                          const struct sockaddr *remote, uint32_t remote_len,
                          const uint8_t *pkt, size_t len,
                          const lp2p__quic_callbacks *cb, const lp2p_mem *mem,
                          void *user, lp2p_tstamp now) {
  *out = NULL;
  ngtcp2_pkt_hd hd;
  int rv = check_settings(s, identity);
  /* ngtcp2 0.12's header decoder asserts on an empty datagram */
  if (rv == 0 && (len == 0 || ngtcp2_accept(&hd, pkt, len) != 0 ||
                  hd.version != NGTCP2_PROTO_VER_V1)) {
    rv = LP2P_ERR_MALFORMED;
  }
  lp2p__quic *q = NULL;
  if (rv == 0) {
    rv = quic_alloc(&q, s, false, local, local_len, remote, remote_len, cb, mem,
                    user, now);
  }
  if (rv == 0) {
    rv = setup_tls(q, identity);
  }
  if (rv == 0) {
    ngtcp2_cid scid = {.datalen = CID_LEN};
    s->rand_fn(scid.data, CID_LEN, s->rand_user);
    ngtcp2_settings ns;
    ngtcp2_transport_params tp;
    fill_ngtcp2_settings(q, &ns, &tp);
    q->first_dcid = hd.dcid;
    if (s->retry_original_dcid) { /* RFC 9000 7.3 */
      ngtcp2_cid_init(&tp.original_dcid, s->retry_original_dcid->data,
                      s->retry_original_dcid->len);
      tp.retry_scid = hd.dcid;
      tp.retry_scid_present = 1;
      ns.token = hd.token; /* validated: the client's address is */
    } else {
      tp.original_dcid = hd.dcid;
    }
    tp.stateless_reset_token_present = 1;
    ngtcp2_path path = conn_path(q);
    rv = reset_token(q, &scid, tp.stateless_reset_token) != 0
             ? LP2P_ERR_CRYPTO
             : finish_new(q, ngtcp2_conn_server_new(
                                 &q->conn, &hd.scid, &scid, &path, hd.version,
                                 &ngtcp2_cbs, &ns, &tp, &q->ngmem, q));
  }
  if (rv == 0) {
    rv = read_first(q, pkt, len, remote, remote_len, now);
  }
  if (rv != 0) {
    lp2p__quic_del(q);
    return rv;
  }
  *out = q;
  return 0;
}

void lp2p__quic_del(lp2p__quic *q) {
  if (!q) {
    return;
  }
  while (q->streams) {
    stream_free(q, q->streams);
  }
  if (q->conn) {
    ngtcp2_conn_del(q->conn);
  }
  if (q->tls) {
    gnutls_deinit(q->tls);
  }
  if (q->cred) {
    gnutls_certificate_free_credentials(q->cred);
  }
  lp2p_tls_cert_del(q->cert);
  lp2p_free(q->mem, q);
}

/* ---- datagrams and time ------------------------------------------------- */

int lp2p__quic_recv(lp2p__quic *q, const uint8_t *pkt, size_t len,
                    const struct sockaddr *remote, uint32_t remote_len,
                    lp2p_tstamp now) {
  if (q->ended) {
    return LP2P_ERR_STATE;
  }
  q->now = now;
  q->stats.bytes_in += len;
  if (len == 0) {
    return 0; /* nothing to read; ngtcp2 0.12 asserts on empty datagrams */
  }
  lp2p__quic_addr from;
  uint32_t from_len = 0;
  if (lp2p__quic_addr_copy(&from, &from_len, remote, remote_len) != 0) {
    return LP2P_ERR_INVALID_ARG;
  }
  ngtcp2_path path = conn_path(q);
  path.remote.addr = &from.sa;
  path.remote.addrlen = from_len;
  ngtcp2_pkt_info pi = {0};
  int rv = ngtcp2_conn_read_pkt(q->conn, &path, &pi, pkt, len, now);
  if (rv == 0) {
    release_tls(q);
    return 0;
  }
  if (rv == NGTCP2_ERR_DISCARD_PKT) {
    return 0; /* undecryptable or stale: dropped, as QUIC says */
  }
  return fail_liberr(q, rv);
}

/* Drops the chunks after the one being sent and that one's unsent tail:
 * nothing will send them (sent bytes stay until ngtcp2 lets go). */
static void drop_unsent(lp2p__quic *q, qstream *st) {
  chunk *c = st->send;
  if (!c) {
    return;
  }
  size_t dropped = c->len - st->send_off;
  c->len = st->send_off;
  while (c->next) {
    chunk *gone = c->next;
    c->next = gone->next;
    dropped += gone->len;
    lp2p_free(q->mem, gone);
  }
  st->tail = c;
  st->buffered -= dropped < st->buffered ? dropped : st->buffered;
}

/* The peer sent STOP_SENDING (go's CloseRead, and its Close): our write
 * side is over, what was written and not sent is freed, and writes
 * return LP2P_ERR_STATE; reading goes on. The application learns it from
 * stream_writable (its next write fails), as it would wait for that
 * callback to write more. A stream still negotiating cannot finish. */
static void write_stopped(lp2p__quic *q, qstream *st) {
  if (negotiating(st)) {
    stream_fail(q, st, LP2P_ERR_UNSUPPORTED);
    return;
  }
  st->write_stopped = true;
  st->want_writable = false;
  drop_unsent(q, st);
  if (st->known && q->cb.stream_writable) {
    q->cb.stream_writable(q, (uint64_t)st->id, st->user, q->user);
  }
}

/* The next stream with bytes (or a FIN) to send, not blocked this _pull. */
static qstream *next_to_send(lp2p__quic *q) {
  for (qstream *st = q->streams; st; st = st->next) {
    const uint8_t *p;
    if (st->skip || st->done || st->write_stopped) {
      continue;
    }
    if (unsent_span(st, &p) > 0 || (st->fin && !st->fin_sent)) {
      return st;
    }
  }
  return NULL;
}

static ssize_t write_datagram(lp2p__quic *q) {
  for (;;) {
    qstream *st = next_to_send(q);
    ngtcp2_vec v = {NULL, 0};
    uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
    if (st) {
      const uint8_t *p = NULL;
      v.len = unsent_span(st, &p);
      v.base = (uint8_t *)(uintptr_t)p;
      if (st->fin && (!st->send || !st->send->next)) {
        flags |= NGTCP2_WRITE_STREAM_FLAG_FIN; /* this span is the last */
      }
    }
    ngtcp2_ssize datalen = -1;
    ngtcp2_ssize n = ngtcp2_conn_writev_stream(
        q->conn, NULL, NULL, q->out, sizeof(q->out), &datalen, flags,
        st ? st->id : -1, st ? &v : NULL, st ? 1 : 0, q->now);
    if (st && datalen >= 0) {
      sent(st, (size_t)datalen);
      if ((flags & NGTCP2_WRITE_STREAM_FLAG_FIN) && (size_t)datalen == v.len) {
        st->fin_sent = true;
      }
    }
    if (n == NGTCP2_ERR_WRITE_MORE) {
      continue;
    }
    if (n == NGTCP2_ERR_STREAM_SHUT_WR) { /* ngtcp2 has answered RESET_STREAM */
      write_stopped(q, st);
      continue;
    }
    if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED ||
        n == NGTCP2_ERR_STREAM_NOT_FOUND) {
      st->skip = true; /* flow control: MAX_STREAM_DATA will come */
      continue;
    }
    if (n < 0) {
      return fail_liberr(q, (int)n);
    }
    if (n > 0 || !st) {
      return n;
    }
    st->skip = true; /* nothing fit (congestion): try the others */
  }
}

ssize_t lp2p__quic_pull(lp2p__quic *q, const uint8_t **out, lp2p_tstamp now) {
  *out = q->out;
  if (q->ended) {
    ssize_t n = (ssize_t)q->close_len; /* the CONNECTION_CLOSE, once */
    q->close_len = 0;
    q->stats.bytes_out += (uint64_t)n;
    return n;
  }
  q->now = now;
  ssize_t n = write_datagram(q);
  for (qstream *st = q->streams; st; st = st->next) {
    st->skip = false;
  }
  if (n < 0) {
    return lp2p__quic_pull(q, out, now);
  }
  q->stats.bytes_out += (uint64_t)n;
  return n;
}

lp2p_tstamp lp2p__quic_expiry(const lp2p__quic *q) {
  if (q->ended) {
    return LP2P_TSTAMP_NEVER;
  }
  lp2p_tstamp t = ngtcp2_conn_get_expiry(q->conn); /* UINT64_MAX: none */
  for (const qstream *st = q->streams; st; st = st->next) {
    if (!st->done && negotiating(st) && st->deadline < t) {
      t = st->deadline;
    }
  }
  return t;
}

/* Resets the streams whose negotiation is past its deadline. */
static void expire_negotiations(lp2p__quic *q) {
  qstream *next;
  for (qstream *st = q->streams; st; st = next) {
    next = st->next;
    if (!st->done && negotiating(st) && st->deadline <= q->now) {
      q->stats.negotiate_timeouts++;
      stream_fail(q, st, LP2P_ERR_TIMEOUT);
    }
  }
}

int lp2p__quic_handle_expiry(lp2p__quic *q, lp2p_tstamp now) {
  if (q->ended) {
    return LP2P_ERR_STATE;
  }
  q->now = now;
  int rv = ngtcp2_conn_handle_expiry(q->conn, now);
  if (rv != 0) {
    return fail_liberr(q, rv);
  }
  expire_negotiations(q);
  return 0;
}

void lp2p__quic_stats_get(const lp2p__quic *q, lp2p__quic_stats *out) {
  *out = q->stats;
}

int lp2p__quic_close(lp2p__quic *q, lp2p_tstamp now) {
  if (q->ended) {
    return LP2P_ERR_STATE;
  }
  q->now = now;
  q->ended = true;
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_set_application_error(&ccerr, APP_ERR_NONE,
                                                      NULL, 0);
  ngtcp2_ssize n = ngtcp2_conn_write_connection_close(
      q->conn, NULL, NULL, q->out, sizeof(q->out), &ccerr, now);
  q->close_len = n > 0 ? (size_t)n : 0;
  return 0;
}

bool lp2p__quic_is_established(const lp2p__quic *q) {
  return q->established && !q->ended;
}

const lp2p_peer_id *lp2p__quic_remote(const lp2p__quic *q) {
  return q->established ? &q->peer_id : NULL;
}

size_t lp2p__quic_cids(const lp2p__quic *q, lp2p__quic_cid *out, size_t max) {
  ngtcp2_cid cids[16]; /* ngtcp2 keeps at most 8 ids per connection */
  size_t n = ngtcp2_conn_get_num_scid(q->conn);
  if (n > 15) {
    return n + 1; /* more than any caller keeps */
  }
  n = ngtcp2_conn_get_scid(q->conn, cids);
  if (!q->is_client) {
    cids[n++] = q->first_dcid;
  }
  for (size_t i = 0; i < n && i < max; i++) {
    out[i].len = (uint8_t)cids[i].datalen;
    memcpy(out[i].data, cids[i].data, cids[i].datalen);
  }
  return n;
}

const struct sockaddr *lp2p__quic_peer_addr(const lp2p__quic *q,
                                            uint32_t *len) {
  const ngtcp2_path *p = ngtcp2_conn_get_path(q->conn);
  *len = (uint32_t)p->remote.addrlen;
  return p->remote.addr;
}

lp2p_tstamp lp2p__quic_pto(const lp2p__quic *q) {
  return ngtcp2_conn_get_pto(q->conn);
}

const lp2p_tls_cert *lp2p__quic_cert(const lp2p__quic *q) {
  return q->set.cert ? q->set.cert : q->cert;
}

bool lp2p__quic_is_ended(const lp2p__quic *q) {
  return q->ended;
}

lp2p_tstamp lp2p__quic_now(const lp2p__quic *q) {
  return q->now;
}

void lp2p__quic_set_user(lp2p__quic *q, void *user) {
  q->user = user;
}

int lp2p__quic_error(const lp2p__quic *q, const char **msg) {
  if (msg) {
    *msg = q->msg;
  }
  return q->err;
}

/* ---- streams: the application's side ------------------------------------ */

int lp2p__quic_open_stream(lp2p__quic *q, const char *const *protocols,
                           size_t n, void *stream_user, uint64_t *id) {
  if (!q->established || q->ended) {
    return LP2P_ERR_STATE;
  }
  if (n == 0) {
    return LP2P_ERR_INVALID_ARG;
  }
  int64_t sid;
  int rv = ngtcp2_conn_open_bidi_stream(q->conn, &sid, NULL);
  if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED) {
    return LP2P_ERR_TOO_LARGE; /* the peer's MAX_STREAMS */
  }
  if (rv != 0) {
    return LP2P_ERR_NOMEM;
  }
  qstream *st = stream_new(q, sid, false);
  if (!st) {
    (void)ngtcp2_conn_shutdown_stream(q->conn, sid, APP_ERR_RESET);
    return LP2P_ERR_NOMEM;
  }
  st->user = stream_user;
  rv = start_mss(q, st, protocols, n);
  if (rv != 0) {
    st->done = true;
    (void)ngtcp2_conn_shutdown_stream(q->conn, sid, APP_ERR_RESET);
    return rv;
  }
  st->known = true; /* from here on it ends with a callback */
  *id = (uint64_t)sid;
  return 0;
}

/* What the send buffer may take: max_send_buffer less what it holds. */
static size_t send_room(const lp2p__quic *q, const qstream *st) {
  return q->set.max_send_buffer > st->buffered
             ? q->set.max_send_buffer - st->buffered
             : 0;
}

void lp2p__quic_set_budget(lp2p__quic *q, lp2p_budget *budget) {
  for (qstream *st = q->streams; st; st = st->next) {
    uncharge(q, st, st->charged);
  }
  q->set.budget = budget;
}

ssize_t lp2p__quic_stream_write(lp2p__quic *q, uint64_t id, const uint8_t *data,
                                size_t len) {
  qstream *st = q->ended ? NULL : lookup(q, id);
  if (!st) {
    return LP2P_ERR_NOT_FOUND;
  }
  if (negotiating(st) || st->fin || st->write_stopped) {
    return LP2P_ERR_STATE;
  }
  size_t room = send_room(q, st);
  size_t n = len < room ? len : room;
  if (n < len) {
    st->want_writable = true;
  }
  return n ? sendq_append(q, st, data, n) : 0;
}

int lp2p__quic_stream_consume(lp2p__quic *q, uint64_t id, size_t n) {
  qstream *st = q->ended ? NULL : lookup(q, id);
  if (!st) {
    return LP2P_ERR_NOT_FOUND;
  }
  n = n < st->unconsumed ? n : st->unconsumed;
  st->unconsumed -= n;
  uncharge(q, st, n);
  give_credit(q, st, n);
  return 0;
}

int lp2p__quic_stream_close(lp2p__quic *q, uint64_t id) {
  qstream *st = q->ended ? NULL : lookup(q, id);
  if (!st) {
    return LP2P_ERR_NOT_FOUND;
  }
  st->fin = true;
  return 0;
}

int lp2p__quic_stream_stop_reading(lp2p__quic *q, uint64_t id) {
  qstream *st = q->ended ? NULL : lookup(q, id);
  if (!st) {
    return LP2P_ERR_NOT_FOUND;
  }
  st->read_stopped = true;
  release_unconsumed(q, st);
  (void)ngtcp2_conn_shutdown_stream_read(q->conn, st->id, APP_ERR_RESET);
  return 0;
}

int lp2p__quic_stream_reset(lp2p__quic *q, uint64_t id) {
  qstream *st = q->ended ? NULL : lookup(q, id);
  if (!st) {
    return LP2P_ERR_NOT_FOUND;
  }
  st->done = true;
  release_unconsumed(q, st);
  (void)ngtcp2_conn_shutdown_stream(q->conn, st->id, APP_ERR_RESET);
  return 0;
}

/* ---- additions for lp2p_session over QUIC -------------------------------- */

const lp2p_pubkey *lp2p__quic_remote_key(const lp2p__quic *q) {
  return q->established ? &q->peer_key : NULL;
}

lp2p_tstamp lp2p__quic_rtt(const lp2p__quic *q) {
  if (!q->established) {
    return 0;
  }
  ngtcp2_conn_stat cs;
  ngtcp2_conn_get_conn_stat(q->conn, &cs);
  return cs.smoothed_rtt;
}

size_t lp2p__quic_num_streams(const lp2p__quic *q) {
  size_t n = 0;
  for (const qstream *st = q->streams; st; st = st->next) {
    n += st->done ? 0 : 1;
  }
  return n;
}

size_t lp2p__quic_stream_writable(lp2p__quic *q, uint64_t id) {
  qstream *st = q->ended ? NULL : lookup(q, id);
  if (!st || negotiating(st) || st->fin || st->write_stopped) {
    return 0;
  }
  size_t room = send_room(q, st);
  if (room == 0) {
    st->want_writable = true;
  }
  return room;
}

const char *lp2p__quic_stream_protocol(lp2p__quic *q, uint64_t id) {
  qstream *st = q->ended ? NULL : lookup(q, id);
  return st && st->known && !negotiating(st) ? st->protocol : NULL;
}
