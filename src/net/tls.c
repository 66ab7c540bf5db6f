/* The libp2p TLS secure channel (net/tls.h): GnuTLS in non-blocking mode
 * whose transport is two buffers, so it never sees a socket. TLS 1.3
 * only, client certificate required, no session tickets, no SNI (the
 * spec forbids it), ALPN: our muxers, then "libp2p". */
#include "net/tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "base/mem.h"
#include "crypto/tls_cert.h"
#include "crypto/tlslib.h"

#define DEFAULT_MAX_BUFFER ((size_t)1 << 20)
/* One TLS record's plaintext. */
#define RECORD_MAX 16384u
/* Non-fatal GnuTLS results (a warning alert) retried in one call. */
#define MAX_RETRIES 16

static const char priority[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3";

struct lp2p__tls {
  const lp2p_mem *mem;
  gnutls_session_t sess;
  gnutls_certificate_credentials_t cred;
  lp2p_tls_cert *cert;
  bool is_client;
  bool has_expected;
  lp2p_peer_id expected;
  int64_t unix_time;
  size_t max_buffer;
  const char *muxers[LP2P__TLS_MAX_MUXERS];
  size_t nmuxers;
  lp2p__tls_done_fn done;
  void *user;
  lp2p_buf in; /* ciphertext received, from in_off on not yet read */
  size_t in_off;
  lp2p_buf out;                /* ciphertext to send */
  lp2p_buf plain;              /* decrypted, not yet read */
  bool out_taken, plain_taken; /* handed out: dropped at the next call */
  bool established;
  bool verified; /* the peer's certificate passed */
  bool nomem;    /* a push found no memory: GnuTLS's error is ours */
  lp2p_peer_id peer_id;
  lp2p_pubkey peer_key;
  int err;
  char msg[192];
};

/* ---- GnuTLS's transport: our buffers ------------------------------------ */

static ssize_t push_fn(gnutls_transport_ptr_t ptr, const void *data,
                       size_t len) {
  lp2p__tls *t = ptr;
  if (lp2p_buf_append(&t->out, data, len) != 0) {
    t->nomem = true;
    gnutls_transport_set_errno(t->sess, ENOMEM);
    return -1;
  }
  return (ssize_t)len;
}

static ssize_t pull_fn(gnutls_transport_ptr_t ptr, void *data, size_t len) {
  lp2p__tls *t = ptr;
  size_t avail = t->in.len - t->in_off;
  if (avail == 0) {
    gnutls_transport_set_errno(t->sess, EAGAIN);
    return -1;
  }
  size_t n = len < avail ? len : avail;
  memcpy(data, t->in.data + t->in_off, n);
  t->in_off += n;
  if (t->in_off == t->in.len) {
    t->in.len = 0;
    t->in_off = 0;
  }
  return (ssize_t)n;
}

/* Drops what _pull and _read handed out at the previous call. */
static void settle(lp2p__tls *t) {
  if (t->out_taken) {
    t->out.len = 0;
    t->out_taken = false;
  }
  if (t->plain_taken) {
    t->plain.len = 0;
    t->plain_taken = false;
  }
}

/* ---- failure ------------------------------------------------------------ */

static int fail(lp2p__tls *t, int err, const char *fmt, const char *detail) {
  if (t->err == 0) {
    t->err = err;
    snprintf(t->msg, sizeof(t->msg), fmt, detail);
  }
  return t->err;
}

/* A fatal GnuTLS error: the certificate check's own reason when it was
 * that, the peer's alert, or GnuTLS's words. An alert tells the peer. */
static int fail_gnutls(lp2p__tls *t, int rv) {
  if (t->nomem) {
    return fail(t, LP2P_ERR_NOMEM, "TLS: %s", "out of memory");
  }
  if (t->err == 0 && rv == GNUTLS_E_FATAL_ALERT_RECEIVED) {
    fail(t, LP2P_ERR_PROTOCOL, "TLS: the peer sent the alert %s",
         gnutls_alert_get_name(gnutls_alert_get(t->sess)));
  }
  if (t->err == 0) {
    fail(t, LP2P_ERR_PROTOCOL, "TLS: %s", gnutls_strerror(rv));
  }
  (void)gnutls_alert_send_appropriate(t->sess, rv); /* into t->out */
  return t->err;
}

/* ---- the peer's certificate --------------------------------------------- */

static int verify_peer(gnutls_session_t sess) {
  lp2p__tls *t = gnutls_session_get_ptr(sess);
  lp2p_errdetail why = {{0}};
  int rv = lp2p__tls_cert_verify_session(
      sess, t->unix_time, t->is_client && t->has_expected ? &t->expected : NULL,
      &t->peer_key, &t->peer_id, &why);
  if (rv != 0) {
    fail(t, rv, "TLS: peer certificate refused: %s", why.msg);
    return -1;
  }
  t->verified = true;
  return 0;
}

/* ---- the handshake ------------------------------------------------------ */

/* The muxer ALPN agreed: one of ours, NULL for "libp2p" or none. */
static const char *agreed_muxer(lp2p__tls *t) {
  gnutls_datum_t sel = {NULL, 0};
  if (gnutls_alpn_get_selected_protocol(t->sess, &sel) < 0) {
    return NULL;
  }
  for (size_t i = 0; i < t->nmuxers; i++) {
    if (strlen(t->muxers[i]) == sel.size &&
        memcmp(t->muxers[i], sel.data, sel.size) == 0) {
      return t->muxers[i];
    }
  }
  return NULL;
}

static int handshake_done(lp2p__tls *t) {
  if (!t->verified) { /* GnuTLS did not ask: no certificate came */
    return fail(t, LP2P_ERR_PROTOCOL, "TLS: %s",
                "the peer sent no certificate");
  }
  t->established = true;
  int rv = t->done
               ? t->done(t->user, &t->peer_id, &t->peer_key, agreed_muxer(t))
               : 0;
  if (rv != 0) {
    return fail(t, rv < 0 ? rv : LP2P_ERR_PROTOCOL, "TLS: %s",
                "the peer was refused");
  }
  return 0;
}

static int step_handshake(lp2p__tls *t) {
  for (int i = 0; i < MAX_RETRIES; i++) {
    int rv = gnutls_handshake(t->sess);
    if (t->nomem) { /* whatever GnuTLS made of the failed push */
      return fail_gnutls(t, rv);
    }
    if (rv == 0) {
      return handshake_done(t);
    }
    if (rv == GNUTLS_E_AGAIN || rv == GNUTLS_E_INTERRUPTED) {
      return 0;
    }
    if (gnutls_error_is_fatal(rv)) {
      return fail_gnutls(t, rv);
    }
  }
  return 0;
}

/* ---- life --------------------------------------------------------------- */

static int setup_alpn(lp2p__tls *t) {
  gnutls_datum_t protos[LP2P__TLS_MAX_MUXERS + 1];
  for (size_t i = 0; i < t->nmuxers; i++) {
    protos[i].data = (unsigned char *)(uintptr_t)t->muxers[i];
    protos[i].size = (unsigned)strlen(t->muxers[i]);
  }
  protos[t->nmuxers].data = (unsigned char *)(uintptr_t)LP2P_TLS_ALPN;
  protos[t->nmuxers].size = (unsigned)strlen(LP2P_TLS_ALPN);
  /* GnuTLS's server takes the client's first protocol it has: the
   * client's preference, as go's server does */
  return gnutls_alpn_set_protocols(t->sess, protos, (unsigned)t->nmuxers + 1,
                                   0);
}

static int setup_session(lp2p__tls *t) {
  unsigned flags = (t->is_client ? GNUTLS_CLIENT : GNUTLS_SERVER) |
                   GNUTLS_NONBLOCK | GNUTLS_NO_TICKETS;
  if (gnutls_init(&t->sess, flags) < 0) {
    return LP2P_ERR_NOMEM;
  }
  gnutls_session_set_ptr(t->sess, t);
  gnutls_transport_set_ptr(t->sess, t);
  gnutls_transport_set_push_function(t->sess, push_fn);
  gnutls_transport_set_pull_function(t->sess, pull_fn);
  /* the session's deadline bounds the handshake; GnuTLS's own timeout
   * would read a clock */
  gnutls_handshake_set_timeout(t->sess, GNUTLS_INDEFINITE_TIMEOUT);
  if (gnutls_priority_set_direct(t->sess, priority, NULL) < 0 ||
      gnutls_credentials_set(t->sess, GNUTLS_CRD_CERTIFICATE, t->cred) < 0 ||
      setup_alpn(t) < 0) {
    return LP2P_ERR_CRYPTO;
  }
  if (!t->is_client) {
    gnutls_certificate_server_set_request(t->sess, GNUTLS_CERT_REQUIRE);
  }
  return 0;
}

static int setup_credentials(lp2p__tls *t, const lp2p__tls_settings *s) {
  int rv = lp2p_tls_cert_new(&t->cert, s->identity, s->unix_time, s->rand_fn,
                             s->rand_user);
  if (rv != 0) {
    return rv;
  }
  if (gnutls_certificate_allocate_credentials(&t->cred) < 0) {
    return LP2P_ERR_NOMEM;
  }
  gnutls_certificate_set_verify_function(t->cred, verify_peer);
  return lp2p__tls_cert_use(t->cert, t->cred);
}

static int check_settings(const lp2p__tls_settings *s) {
  if (!s->identity || !s->rand_fn || s->nmuxers > LP2P__TLS_MAX_MUXERS) {
    return LP2P_ERR_INVALID_ARG;
  }
  return 0;
}

int lp2p__tls_new(lp2p__tls **out, const lp2p__tls_settings *s,
                  lp2p__tls_done_fn done, const lp2p_mem *mem, void *user) {
  *out = NULL;
  int rv = check_settings(s);
  if (rv != 0) {
    return rv;
  }
  lp2p__tls *t = lp2p_calloc(mem, 1, sizeof(*t));
  if (!t) {
    return LP2P_ERR_NOMEM;
  }
  t->mem = mem;
  t->is_client = s->is_client;
  t->has_expected = s->remote_peer_id != NULL;
  if (t->has_expected) {
    t->expected = *s->remote_peer_id;
  }
  t->unix_time = s->unix_time;
  t->max_buffer = s->max_buffer ? s->max_buffer : DEFAULT_MAX_BUFFER;
  for (size_t i = 0; i < s->nmuxers; i++) {
    t->muxers[i] = s->muxers[i]; /* static strings (the session's) */
  }
  t->nmuxers = s->nmuxers;
  t->done = done;
  t->user = user;
  lp2p_buf_init(&t->in, mem);
  lp2p_buf_init(&t->out, mem);
  lp2p_buf_init(&t->plain, mem);
  rv = setup_credentials(t, s);
  if (rv == 0) {
    rv = setup_session(t);
  }
  if (rv == 0 && t->is_client) {
    rv = step_handshake(t); /* the ClientHello */
  }
  if (rv != 0) {
    lp2p__tls_del(t);
    return rv;
  }
  *out = t;
  return 0;
}

void lp2p__tls_del(lp2p__tls *t) {
  if (!t) {
    return;
  }
  if (t->sess) {
    gnutls_deinit(t->sess);
  }
  if (t->cred) {
    gnutls_certificate_free_credentials(t->cred);
  }
  lp2p_tls_cert_del(t->cert);
  lp2p_buf_free(&t->in);
  lp2p_buf_free(&t->out);
  if (t->plain.data) {
    gnutls_memset(t->plain.data, 0, t->plain.cap);
  }
  lp2p_buf_free(&t->plain);
  lp2p_free(t->mem, t);
}

/* ---- data --------------------------------------------------------------- */

size_t lp2p__tls_recv_room(const lp2p__tls *t) {
  size_t held = (t->in.len - t->in_off) + (t->plain_taken ? 0 : t->plain.len);
  return held < t->max_buffer ? t->max_buffer - held : 0;
}

int lp2p__tls_recv(lp2p__tls *t, const uint8_t *in, size_t len) {
  if (t->err) {
    return LP2P_ERR_STATE;
  }
  settle(t);
  if (len > lp2p__tls_recv_room(t)) {
    return LP2P_ERR_TOO_LARGE;
  }
  if (lp2p_buf_append(&t->in, in, len) != 0) {
    return fail(t, LP2P_ERR_NOMEM, "TLS: %s", "out of memory");
  }
  return t->established ? 0 : step_handshake(t);
}

/* Decrypts records into `plain` until the input runs out or the bound. */
static int decrypt(lp2p__tls *t) {
  int retries = 0;
  while (t->plain.len < t->max_buffer) {
    if (lp2p_buf_reserve(&t->plain, RECORD_MAX) != 0) {
      return fail(t, LP2P_ERR_NOMEM, "TLS: %s", "out of memory");
    }
    ssize_t n =
        gnutls_record_recv(t->sess, t->plain.data + t->plain.len, RECORD_MAX);
    if (t->nomem) { /* a post-handshake answer could not be queued */
      return fail_gnutls(t, (int)n);
    }
    if (n > 0) {
      t->plain.len += (size_t)n;
    } else if (n == 0 || n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
      return 0; /* 0: close_notify; the transport's end follows */
    } else if (gnutls_error_is_fatal((int)n) || ++retries > MAX_RETRIES) {
      return fail_gnutls(t, (int)n);
    }
  }
  return 0;
}

ssize_t lp2p__tls_read(lp2p__tls *t, const uint8_t **out) {
  *out = NULL;
  if (t->err) {
    return LP2P_ERR_STATE;
  }
  settle(t);
  if (!t->established) {
    return 0;
  }
  int rv = decrypt(t);
  if (rv != 0) {
    return rv;
  }
  *out = t->plain.data;
  t->plain_taken = t->plain.len > 0;
  return (ssize_t)t->plain.len;
}

ssize_t lp2p__tls_write(lp2p__tls *t, const uint8_t *data, size_t len) {
  if (t->err || !t->established) {
    return LP2P_ERR_STATE;
  }
  settle(t);
  size_t taken = 0;
  while (taken < len && t->out.len < t->max_buffer) {
    size_t chunk = len - taken < RECORD_MAX ? len - taken : RECORD_MAX;
    ssize_t n = gnutls_record_send(t->sess, data + taken, chunk);
    if (n < 0 || t->nomem) { /* AGAIN: only a failed push makes one */
      return fail_gnutls(t, (int)n);
    }
    taken += (size_t)n;
  }
  return (ssize_t)taken;
}

ssize_t lp2p__tls_pull(lp2p__tls *t, const uint8_t **out) {
  settle(t);
  *out = t->out.data;
  t->out_taken = t->out.len > 0;
  return (ssize_t)t->out.len; /* an alert may follow a failure */
}

bool lp2p__tls_is_established(const lp2p__tls *t) {
  return t->established && t->err == 0;
}

const char *lp2p__tls_errmsg(const lp2p__tls *t) {
  return t->msg;
}
