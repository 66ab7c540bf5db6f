/* Session internals that the unit tests and fuzz targets reach into. */
#ifndef LP2P_NET_NOISE_INTERNAL_H
#define LP2P_NET_NOISE_INTERNAL_H

#include "lp2p/noise.h"

/* Sets the transport nonces of an established session, so that a test
 * can reach their exhaustion at 2^64 - 1 without sending 2^64 frames. */
void lp2p_noise_set_nonces(lp2p_noise *s, uint64_t tx, uint64_t rx);

/* Transport messages written in place (lp2p_session's send path): the
 * plaintext area of the next message in the send buffer, `*room` bytes:
 * what the buffer holds already but at least `want`, at most
 * LP2P_NOISE_MAX_PLAINTEXT and what max_send_buffer leaves (0 when it is
 * full). Asking again with a larger `want` before sealing grows the area
 * (it may move; what was written in it stays). Valid until the next call
 * on the session. Returns 0, LP2P_ERR_STATE before the handshake ends, or
 * LP2P_ERR_NOMEM. */
int lp2p__noise_area(lp2p_noise *n, size_t want, uint8_t **area, size_t *room);
/* Encrypts the first `len` <= room bytes of the area in place and frames
 * them: the message joins what pull hands out. Returns 0, or
 * LP2P_ERR_STATE (the session failed: the send nonce is exhausted). */
int lp2p__noise_seal(lp2p_noise *n, size_t len);

#endif
