/* Session internals that the unit tests and fuzz targets reach into. */
#ifndef LP2P_NET_NOISE_INTERNAL_H
#define LP2P_NET_NOISE_INTERNAL_H

#include "lp2p/noise.h"

/* Sets the transport nonces of an established session, so that a test
 * can reach their exhaustion at 2^64 - 1 without sending 2^64 frames. */
void lp2p_noise_set_nonces(lp2p_noise *s, uint64_t tx, uint64_t rx);

#endif
