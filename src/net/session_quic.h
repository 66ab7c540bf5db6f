/* lp2p_session over the connections of a QUIC endpoint
 * (net/quic_endpoint.h), for a host whose QUIC connections share one UDP
 * socket (docs/session.md, "Sessions of an endpoint"). The endpoint owns
 * each lp2p__quic and does its I/O; the session around it keeps the
 * public stream API, the authenticated gate and the one `closed`.
 *
 * Wiring: the endpoint's `conn` callbacks are
 * lp2p__session_quic_conn_callbacks and every connection's user pointer
 * is its session. A dial is lp2p__session_quic_connect; an inbound
 * connection's session is made in the endpoint's `incoming` callback by
 * lp2p__session_quic_new_for (its conn_user), then attached in
 * `accepted`; `released` with a session calls
 * lp2p__session_quic_released.
 *
 * Such a session takes no datagrams and has none to pull or time to
 * keep (lp2p_session_recv_datagram: LP2P_ERR_STATE, _pull: 0, _expiry:
 * never, _handle_expiry: 0); its stream calls wake the connection in the
 * endpoint; lp2p_session_goaway closes it through the endpoint and
 * lp2p_session_del detaches it (closed unless it ended). Neither may be
 * called inside one of the endpoint's calls. */
#ifndef LP2P_NET_SESSION_QUIC_H
#define LP2P_NET_SESSION_QUIC_H

#include "lp2p/session.h"
#include "net/quic_endpoint.h"

extern const lp2p__quic_callbacks lp2p__session_quic_conn_callbacks;

/* The endpoint connections' settings for sessions of `set`, mapped as
 * lp2p_session_new_quic_client maps them (set->protocols is not copied:
 * it must outlive the endpoint). Returns 0 or LP2P_ERR_INVALID_ARG. */
int lp2p__session_quic_settings(const lp2p_session_settings *set,
                                lp2p__quic_settings *qs);

/* A session for a connection `ep` is about to make with the session as
 * its user pointer. Returns 0, LP2P_ERR_INVALID_ARG or LP2P_ERR_NOMEM. */
int lp2p__session_quic_new_for(lp2p_session **out, lp2p__quic_endpoint *ep,
                               const lp2p_privkey *identity,
                               const lp2p_session_callbacks *cb,
                               const lp2p_mem *mem, void *user);
/* The connection's memory scope (lp2p_session_settings.budget, which the
 * endpoint's shared settings cannot carry), handed to its lp2p__quic now
 * or when attached; set it before the first stream. The session takes
 * it back from the connection before it goes. */
void lp2p__session_quic_set_budget(lp2p_session *s, lp2p_budget *budget);
/* The UDP payload bytes of the session's datagrams so far, in and out
 * (lp2p__quic_stats), kept once the endpoint released its connection.
 * Returns false (counts untouched) for a session not over QUIC. */
bool lp2p__session_quic_bytes(const lp2p_session *s, uint64_t *in,
                              uint64_t *out);
/* The session's connection was made (the endpoint's `accepted`). */
void lp2p__session_quic_attach(lp2p_session *s, lp2p__quic *q);
/* The endpoint freed the session's connection (its `released`). */
void lp2p__session_quic_released(lp2p_session *s);

/* Dials `remote` expecting `peer` through `ep`: the session and its
 * connection, whose Initial the endpoint's next _pull sends. Returns 0,
 * or the errors of lp2p__session_quic_new_for and
 * lp2p__quic_endpoint_connect. */
int lp2p__session_quic_connect(lp2p_session **out, lp2p__quic_endpoint *ep,
                               const struct sockaddr *remote,
                               uint32_t remote_len, const lp2p_peer_id *peer,
                               const lp2p_privkey *identity,
                               const lp2p_session_callbacks *cb,
                               const lp2p_mem *mem, void *user,
                               lp2p_tstamp now);

#endif
