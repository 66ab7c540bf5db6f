/* What the host does with a connection's events: the session's callbacks
 * (the gate after the handshake, registering and announcing the upgraded
 * connection, its failure), telling the application when it ends, and
 * the public connection API. The I/O is conn.c's. */
#include <string.h>
#include <time.h>

#include "host/internal.h"
#include "net/session_quic.h"

/* ---- the session's connection callbacks --------------------------------- */

static lp2p_disconnect_reason reason_of(int err) {
  switch (err) {
  case LP2P_ERR_NOMEM:
    return LP2P_DISCONNECT_NOMEM;
  case LP2P_ERR_TIMEOUT:
    return LP2P_DISCONNECT_TIMEOUT;
  case LP2P_ERR_CLOSED: /* QUIC's clean close: as a TCP peer's FIN */
    return LP2P_DISCONNECT_REMOTE;
  default:
    return LP2P_DISCONNECT_PROTOCOL;
  }
}

/* The gate after the handshake: the peer's memory scope is found (or
 * made) before its muxer may reserve anything. */
static int on_authenticated(lp2p_session *s, const lp2p_peer_id *remote,
                            const lp2p_pubkey *key, void *user) {
  (void)s;
  (void)key;
  lp2p_conn *c = user;
  c->peer_id = *remote;
  int rv = lp2p__conn_budget_attach(c);
  if (rv != 0) {
    lp2p__conn_fail(c, LP2P_DISCONNECT_NOMEM, rv,
                    "cannot start the muxer: out of memory");
  }
  return rv;
}

static void on_established(lp2p_session *s, const lp2p_peer_id *remote,
                           const char *muxer, bool early, void *user) {
  (void)s;
  (void)remote;
  (void)muxer;
  lp2p_conn *c = user;
  if (c->state == CONN_CLOSING) {
    /* failed (a cancelled dial) while its QUIC handshake was still
     * finishing: it is being freed, never announced nor registered */
    return;
  }
  int rv = lp2p__conn_services_start(c);
  if (rv != 0) {
    lp2p__conn_fail(c, LP2P_DISCONNECT_NOMEM, rv,
                    "cannot start identify and ping: out of memory");
    return;
  }
  c->early_muxer = early;
  c->state = CONN_READY;
  c->idle_since = lp2p_host_now();
  lp2p__host_conn_ready(c);
}

static void on_session_closed(lp2p_session *s, int err, const char *msg,
                              void *user) {
  (void)s;
  lp2p_conn *c = user;
  if (err == LP2P_ERR_TIMEOUT && c->state == CONN_UPGRADING) {
    c->host->stats.handshake_timeouts += !c->outbound;
  }
  lp2p__conn_fail(c, reason_of(err), err, "%s", msg);
}

/* Inbound proposals: the host's handlers as they are now (the session
 * gets no list of its own, which it would copy: a kilobyte and more per
 * connection, and stale once a handler is set). */
static int on_accept(lp2p_session *s, const char *proto, size_t len,
                     void *user) {
  (void)s;
  const lp2p_host *h = ((lp2p_conn *)user)->host;
  for (size_t i = 0; i < h->nprotocols; i++) {
    if (strlen(h->protocols[i]) == len &&
        memcmp(h->protocols[i], proto, len) == 0) {
      return 1;
    }
  }
  return 0;
}

static void on_pong(lp2p_session *s, lp2p_tstamp rtt, void *user) {
  (void)s;
  (void)rtt;
  (void)user; /* yamux keeps the round trip: lp2p_conn_info */
}

void lp2p__conn_session_callbacks(lp2p_session_callbacks *cb) {
  *cb = (lp2p_session_callbacks){
      .authenticated = on_authenticated,
      .established = on_established,
      .closed = on_session_closed,
      .accept = on_accept,
      .pong = on_pong,
  };
  lp2p__stream_session_callbacks(cb);
}

void lp2p__conn_session_settings(const lp2p_host *h,
                                 lp2p_session_settings *set) {
  lp2p_session_settings_default(set);
  set->muxers = h->muxers;
  set->nmuxers = h->nmuxers;
  set->security = h->security;
  set->nsecurity = h->nsecurity;
  set->unix_time = (int64_t)time(NULL); /* TLS certificates' validity */
  set->handshake_timeout = h->settings.handshake_timeout;
  set->negotiate_timeout = h->settings.negotiate_timeout;
  set->max_streams = h->settings.max_streams;
  set->rand_fn = lp2p_host_rand;
}

int lp2p__conn_start_session(lp2p_conn *c) {
  lp2p_host *h = c->host;
  lp2p_session_callbacks cb;
  lp2p__conn_session_callbacks(&cb);
  lp2p_session_settings set;
  lp2p__conn_session_settings(h, &set);
  set.remote_peer_id = c->has_expected_peer ? &c->expected_peer : NULL;
  set.budget = &c->budget; /* under the peer's scope once authenticated */
  return lp2p_session_new(&c->session, &set, &h->key, c->outbound, &cb, h->mem,
                          c, lp2p_host_now());
}

/* Tells the application, once: streams end, then the connection. */
void lp2p__conn_notify_end(lp2p_conn *c) {
  lp2p_host *h = c->host;
  lp2p__connmgr_handshake_over(c);
  if (c->counted_pending) {
    c->counted_pending = false;
    h->npending_dials--;
  }
  if (c->announced) {
    lp2p__stream_close_all(c);
    lp2p__ping_abort(c);
    lp2p__host_conn_unregister(c);
    if (h->cb.disconnected) {
      h->cb.disconnected(h, c, c->reason, c->msg, h->user);
    }
    return;
  }
  if (c->reason == LP2P_DISCONNECT_DUPLICATE || c->quiet) {
    return; /* its dial was answered already */
  }
  if (h->cb.handshake_failed) {
    h->cb.handshake_failed(h, c->outbound, c->err, c->msg, h->user);
  }
  lp2p_dial_cb cb = c->dial_cb;
  c->dial_cb = NULL;
  if (cb) {
    cb(h, NULL, c->err ? c->err : LP2P_ERR_IO, c->msg, c->dial_user);
  }
}

/* ---- the public connection API ------------------------------------------ */

void lp2p_conn_info_get(const lp2p_conn *c, lp2p_conn_info *info) {
  memset(info, 0, sizeof(*info));
  info->peer_id = c->peer_id;
  info->outbound = c->outbound;
  info->early_muxer = c->early_muxer;
  info->transport = c->session ? lp2p_session_transport(c->session)
                    : c->udp   ? "quic-v1"
                               : "tcp";
  info->remote_addr = (lp2p_bytes){c->remote_addr.data, c->remote_addr.len};
  info->local_addr = (lp2p_bytes){c->local_addr.data, c->local_addr.len};
  info->bytes_received = c->bytes_in;
  info->bytes_sent = c->bytes_out;
  if (c->session) {
    /* QUIC: its datagrams' bytes, as the socket is shared */
    (void)lp2p__session_quic_bytes(c->session, &info->bytes_received,
                                   &info->bytes_sent);
    lp2p_session_stats st;
    lp2p_session_stats_get(c->session, &st);
    const lp2p_pubkey *key = lp2p_session_remote_key(c->session);
    if (key) {
      info->pubkey = *key;
    }
    info->muxer = lp2p_session_muxer(c->session);
    info->security = lp2p_session_security(c->session);
    info->num_streams = lp2p_session_num_streams(c->session);
    info->rtt = st.rtt;
  }
}

const lp2p_peer_id *lp2p_conn_peer_id(const lp2p_conn *c) {
  return &c->peer_id;
}

lp2p_host *lp2p_conn_host(const lp2p_conn *c) {
  return c->host;
}

int lp2p_conn_identify(const lp2p_conn *c, lp2p_identify *id) {
  if (!c->has_identify) {
    return LP2P_ERR_NOT_FOUND;
  }
  return lp2p_identify_read(c->identify.data, c->identify.len, id);
}

void lp2p_conn_set_user(lp2p_conn *c, void *conn_user) {
  c->user = conn_user;
}

void *lp2p_conn_user(const lp2p_conn *c) {
  return c->user;
}

int lp2p_conn_close(lp2p_conn *c) {
  if (c->state == CONN_CLOSING) {
    return LP2P_ERR_STATE;
  }
  lp2p__conn_fail(c, LP2P_DISCONNECT_LOCAL, 0, "closed locally");
  return 0;
}
