/* lp2p_session's public calls, dispatched to the session's kind
 * (net/session_class.h), and what the kinds share. */
#include <string.h>

#include "base/mem.h"
#include "lp2p/net.h"
#include "net/session_class.h"

void lp2p_session_del(lp2p_session *s) {
  if (s) {
    s->cls->destroy(s);
  }
}

int lp2p_session_recv(lp2p_session *s, const uint8_t *in, size_t len,
                      lp2p_tstamp now) {
  return s->cls->recv(s, in, len, now);
}

int lp2p_session_recv_datagram(lp2p_session *s, const uint8_t *pkt, size_t len,
                               const struct sockaddr *from, uint32_t fromlen,
                               lp2p_tstamp now) {
  return s->cls->recv_datagram(s, pkt, len, from, fromlen, now);
}

ssize_t lp2p_session_pull(lp2p_session *s, const uint8_t **out,
                          lp2p_tstamp now) {
  return s->cls->pull(s, out, now);
}

lp2p_tstamp lp2p_session_expiry(const lp2p_session *s) {
  return s->cls->expiry(s);
}

int lp2p_session_handle_expiry(lp2p_session *s, lp2p_tstamp now) {
  return s->cls->handle_expiry(s, now);
}

bool lp2p_session_is_established(const lp2p_session *s) {
  return s->cls->is_established(s);
}

lp2p_tstamp lp2p_session_now(const lp2p_session *s) {
  return s->cls->now(s);
}

const char *lp2p_session_transport(const lp2p_session *s) {
  return s->cls->transport;
}

const lp2p_peer_id *lp2p_session_remote(const lp2p_session *s) {
  return s->cls->remote(s);
}

const lp2p_pubkey *lp2p_session_remote_key(const lp2p_session *s) {
  return s->cls->remote_key(s);
}

const char *lp2p_session_security(const lp2p_session *s) {
  return s->cls->security(s);
}

const char *lp2p_session_muxer(const lp2p_session *s) {
  return s->cls->muxer(s);
}

int lp2p_session_error(const lp2p_session *s, const char **msg) {
  return s->cls->error(s, msg);
}

bool lp2p_session_want_input(lp2p_session *s) {
  return s->cls->want_input(s);
}

void lp2p_session_stats_get(const lp2p_session *s, lp2p_session_stats *st) {
  s->cls->stats_get(s, st);
}

size_t lp2p_session_num_streams(const lp2p_session *s) {
  return s->cls->num_streams(s);
}

int lp2p_session_ping(lp2p_session *s) {
  return s->cls->ping(s);
}

int lp2p_session_goaway(lp2p_session *s) {
  return s->cls->goaway(s);
}

int lp2p_session_open_stream(lp2p_session *s, const char *const *protocols,
                             size_t n, void *stream_user, uint64_t *id) {
  return s->cls->open_stream(s, protocols, n, stream_user, id);
}

ssize_t lp2p_session_stream_write(lp2p_session *s, uint64_t id,
                                  const uint8_t *data, size_t len) {
  return s->cls->stream_write(s, id, data, len);
}

size_t lp2p_session_stream_writable(lp2p_session *s, uint64_t id) {
  return s->cls->stream_writable(s, id);
}

int lp2p_session_stream_consume(lp2p_session *s, uint64_t id, size_t n) {
  return s->cls->stream_consume(s, id, n);
}

int lp2p_session_stream_close(lp2p_session *s, uint64_t id) {
  return s->cls->stream_close(s, id);
}

int lp2p_session_stream_reset(lp2p_session *s, uint64_t id) {
  return s->cls->stream_reset(s, id);
}

const char *lp2p_session_stream_protocol(const lp2p_session *s, uint64_t id) {
  return s->cls->stream_protocol(s, id);
}

/* ---- shared by the kinds ------------------------------------------------ */

void lp2p__session_protocols_free(const lp2p_mem *mem, char **protos,
                                  size_t n) {
  for (size_t i = 0; protos && i < n; i++) {
    lp2p_free(mem, protos[i]);
  }
  lp2p_free(mem, protos);
}

/* Whether multistream-select would take them as a listener's list. */
static int protocols_check(const lp2p_mem *mem, const char *const *protos,
                           size_t n) {
  lp2p_mss *probe = NULL;
  lp2p_mss_settings ms;
  lp2p_mss_settings_default(&ms);
  ms.role = LP2P_MSS_LISTENER;
  ms.protocols = protos;
  ms.nprotocols = n;
  int rv = lp2p_mss_new(&probe, &ms, NULL, mem, NULL);
  lp2p_mss_del(probe);
  return rv;
}

int lp2p__session_protocols_copy(const lp2p_mem *mem, const char *const *protos,
                                 size_t n, char ***out) {
  *out = NULL;
  if (n == 0) {
    return 0;
  }
  int rv = protocols_check(mem, protos, n);
  if (rv != 0) {
    return rv;
  }
  char **copy = lp2p_calloc(mem, n, sizeof(*copy));
  if (!copy) {
    return LP2P_ERR_NOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(protos[i]);
    copy[i] = lp2p_malloc(mem, len + 1);
    if (!copy[i]) {
      lp2p__session_protocols_free(mem, copy, i);
      return LP2P_ERR_NOMEM;
    }
    memcpy(copy[i], protos[i], len + 1);
  }
  *out = copy;
  return 0;
}
