/* ping, glued to the host: the protocol (echoing inbound pings, measuring
 * round trips on one stream kept open, as go-libp2p's ping service does)
 * is the connection's services' (net/services.c); this is
 * lp2p_conn_ping's callback and the connection's timer. */
#include "host/internal.h"

void lp2p__ping_done(lp2p__services *sv, lp2p_tstamp rtt, int err, void *user) {
  (void)sv;
  lp2p_conn *c = user;
  lp2p_ping_cb cb = c->ping_cb;
  c->ping_cb = NULL;
  if (cb) {
    cb(c, rtt, err, c->ping_user);
  }
}

int lp2p_conn_ping(lp2p_conn *c, lp2p_ping_cb cb, void *user) {
  if (c->state != CONN_READY || !c->services || c->ping_cb) {
    return LP2P_ERR_STATE;
  }
  if (!cb) {
    return LP2P_ERR_INVALID_ARG;
  }
  int rv = lp2p__services_ping(c->services, lp2p_host_now());
  if (rv != 0) {
    return rv;
  }
  c->ping_cb = cb;
  c->ping_user = user;
  lp2p__conn_touch(c); /* the ping (or its stream's opening) goes out */
  return 0;
}

lp2p_tstamp lp2p__ping_expiry(const lp2p_conn *c) {
  return c->services ? lp2p__services_expiry(c->services) : LP2P_TSTAMP_NEVER;
}

void lp2p__ping_handle_expiry(lp2p_conn *c, lp2p_tstamp now) {
  if (c->services) {
    lp2p__services_handle_expiry(c->services, now);
  }
}

void lp2p__ping_abort(lp2p_conn *c) {
  if (c->services) {
    lp2p__services_ping_cancel(c->services);
  }
  lp2p__ping_done(c->services, 0, LP2P_ERR_STATE, c);
}
