/* The kinds of lp2p_session (lp2p/session.h) behind one public API, in
 * BearSSL's style as net/muxer_class.h: a const table of functions per
 * kind, chosen by the constructor, and every kind's object starts with
 * struct lp2p_session. Two kinds: the TCP stack (src/net/session.c:
 * multistream-select, /noise or /tls/1.0.0, yamux or mplex) and QUIC
 * (src/net/session_quic.c over net/quic.h, which brings its own TLS and
 * streams). src/net/session_api.c dispatches the public calls. */
#ifndef LP2P_NET_SESSION_CLASS_H
#define LP2P_NET_SESSION_CLASS_H

#include "lp2p/session.h"

typedef struct lp2p__session_class lp2p__session_class;

/* The head of every kind of session. */
struct lp2p_session {
  const lp2p__session_class *cls;
};

struct lp2p__session_class {
  /* go's ConnectionState.Transport: "tcp" or "quic-v1" */
  const char *transport;
  void (*destroy)(lp2p_session *s);
  /* a byte stream's bytes (TCP) or one datagram (QUIC); the kind that
   * does not take it returns LP2P_ERR_STATE */
  int (*recv)(lp2p_session *s, const uint8_t *in, size_t len, lp2p_tstamp now);
  int (*recv_datagram)(lp2p_session *s, const uint8_t *pkt, size_t len,
                       const struct sockaddr *from, uint32_t fromlen,
                       lp2p_tstamp now);
  ssize_t (*pull)(lp2p_session *s, const uint8_t **out, lp2p_tstamp now);
  lp2p_tstamp (*expiry)(const lp2p_session *s);
  int (*handle_expiry)(lp2p_session *s, lp2p_tstamp now);
  bool (*is_established)(const lp2p_session *s);
  lp2p_tstamp (*now)(const lp2p_session *s);
  const lp2p_peer_id *(*remote)(const lp2p_session *s);
  const lp2p_pubkey *(*remote_key)(const lp2p_session *s);
  const char *(*security)(const lp2p_session *s);
  const char *(*muxer)(const lp2p_session *s);
  int (*error)(const lp2p_session *s, const char **msg);
  bool (*want_input)(lp2p_session *s);
  void (*stats_get)(const lp2p_session *s, lp2p_session_stats *st);
  size_t (*num_streams)(const lp2p_session *s);
  int (*ping)(lp2p_session *s);
  int (*goaway)(lp2p_session *s);
  int (*open_stream)(lp2p_session *s, const char *const *protocols, size_t n,
                     void *stream_user, uint64_t *id);
  ssize_t (*stream_write)(lp2p_session *s, uint64_t id, const uint8_t *data,
                          size_t len);
  size_t (*stream_writable)(lp2p_session *s, uint64_t id);
  int (*stream_consume)(lp2p_session *s, uint64_t id, size_t n);
  int (*stream_close)(lp2p_session *s, uint64_t id);
  int (*stream_reset)(lp2p_session *s, uint64_t id);
  const char *(*stream_protocol)(const lp2p_session *s, uint64_t id);
};

extern const lp2p__session_class lp2p__session_tcp_class;
extern const lp2p__session_class lp2p__session_quic_class;

/* Copies the protocols inbound streams may negotiate, checked as
 * multistream-select would (`*out` NULL when n is 0). Returns 0,
 * LP2P_ERR_INVALID_ARG or LP2P_ERR_NOMEM (nothing kept). */
int lp2p__session_protocols_copy(const lp2p_mem *mem, const char *const *protos,
                                 size_t n, char ***out);
void lp2p__session_protocols_free(const lp2p_mem *mem, char **protos, size_t n);

#endif
