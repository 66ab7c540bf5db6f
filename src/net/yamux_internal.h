/* What lp2p_session reaches into yamux for, beyond lp2p/net.h: frames
 * written straight into the plaintext area of a Noise message, so that
 * they are encrypted in place rather than copied out of yamux first. */
#ifndef LP2P_NET_YAMUX_INTERNAL_H
#define LP2P_NET_YAMUX_INTERNAL_H

#include <stdbool.h>

#include "lp2p/net.h"

/* lp2p_yamux_pull into the caller's `out` (up to `cap` bytes); a data
 * frame is cut to fill the room (whole frames below 1 KiB of it). Returns
 * the bytes written, 0 when nothing is due or nothing fits. */
size_t lp2p__yamux_pull_into(lp2p_yamux *y, uint8_t *out, size_t cap,
                             lp2p_tstamp now);
/* Whether a pull would find something to send (it may still not fit, or
 * a stream's window may hold it back). */
bool lp2p__yamux_has_output(const lp2p_yamux *y);

#endif
