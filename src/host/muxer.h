/* One interface over the two stream multiplexers, so that connections and
 * streams need not care which one the peer chose. Streams are named by a
 * 64-bit id: yamux's stream id, or mplex's stream handle. Sans-IO like the
 * muxers themselves. */
#ifndef LP2P_HOST_MUXER_H
#define LP2P_HOST_MUXER_H

#include <stdbool.h>

#include "lp2p/net.h"

typedef struct muxer_callbacks {
  int (*stream_open)(void *user, uint64_t id);
  void (*stream_readable)(void *user, uint64_t id);
  void (*stream_writable)(void *user, uint64_t id);
  void (*stream_close)(void *user, uint64_t id, lp2p_stream_end why);
} muxer_callbacks;

typedef struct muxer {
  bool is_yamux;
  lp2p_yamux *y;
  lp2p_mplex *x;
  size_t mplex_budget; /* mplex's max_session_buffer */
  muxer_callbacks cb;
  void *user;
} muxer;

/* `protocol` is LP2P_YAMUX_PROTOCOL_ID or LP2P_MPLEX_PROTOCOL_ID;
 * `max_streams` bounds each direction; `budget` (may be NULL) is the
 * connection's memory scope, which must outlive the muxer. Returns 0,
 * LP2P_ERR_INVALID_ARG (another protocol) or LP2P_ERR_NOMEM. */
int lp2p__muxer_init(muxer *m, const char *protocol, bool is_client,
                     uint32_t max_streams, lp2p_budget *budget,
                     const muxer_callbacks *cb, const lp2p_mem *mem,
                     void *user);
void lp2p__muxer_free(muxer *m);
const char *lp2p__muxer_protocol(const muxer *m);

int lp2p__muxer_recv(muxer *m, const uint8_t *in, size_t len, lp2p_tstamp now);
ssize_t lp2p__muxer_pull(muxer *m, const uint8_t **out, lp2p_tstamp now);
lp2p_tstamp lp2p__muxer_expiry(const muxer *m);
int lp2p__muxer_handle_expiry(muxer *m, lp2p_tstamp now);
/* 0, or the error that failed the session with its explanation. */
int lp2p__muxer_error(const muxer *m, const char **msg);
/* Announces that no more streams will be opened (yamux GoAway(normal);
 * mplex has no such frame). */
void lp2p__muxer_goaway(muxer *m);
/* Whether the peer said it will accept no more streams. */
bool lp2p__muxer_remote_goaway(const muxer *m);
lp2p_tstamp lp2p__muxer_rtt(const muxer *m);
size_t lp2p__muxer_num_streams(const muxer *m);

int lp2p__muxer_open(muxer *m, uint64_t *id);
ssize_t lp2p__muxer_write(muxer *m, uint64_t id, const uint8_t *data,
                          size_t len);
ssize_t lp2p__muxer_read(muxer *m, uint64_t id, uint8_t *buf, size_t cap,
                         bool *eof);
int lp2p__muxer_close(muxer *m, uint64_t id);
int lp2p__muxer_reset(muxer *m, uint64_t id);
int lp2p__muxer_set_user(muxer *m, uint64_t id, void *stream_user);
void *lp2p__muxer_user(const muxer *m, uint64_t id);
/* Whether the connection should leave its socket unread for now
 * (`holding`: whether it does already): mplex, which has no flow control,
 * holding half its session budget unread, until it is down to a quarter.
 * yamux's windows bound what it buffers. */
bool lp2p__muxer_hold_input(const muxer *m, bool holding);
/* Bytes a write on `id` would take now (0 for an unknown id). */
size_t lp2p__muxer_writable(const muxer *m, uint64_t id);
/* Bytes buffered for reading on `id` (0 for an unknown id). */
size_t lp2p__muxer_readable(const muxer *m, uint64_t id);
/* Whether the peer half-closed `id` and every byte was read. */
bool lp2p__muxer_eof(const muxer *m, uint64_t id);

#endif
