/* One interface over the stream multiplexers for lp2p_session, in
 * BearSSL's style: a const table of functions per muxer, and the session
 * holds the table and the muxer object. Streams are named by a 64-bit id
 * (yamux's stream id, or mplex's stream handle). Sans-IO like the muxers.
 */
#ifndef LP2P_NET_MUXER_CLASS_H
#define LP2P_NET_MUXER_CLASS_H

#include <stdbool.h>

#include "lp2p/net.h"

/* What the muxer tells its owner, with the owner's `user`. */
typedef struct lp2p__muxer_events {
  int (*stream_open)(void *user, uint64_t id);
  void (*stream_readable)(void *user, uint64_t id);
  void (*stream_writable)(void *user, uint64_t id);
  void (*stream_close)(void *user, uint64_t id, lp2p_stream_end why);
  void (*pong)(void *user, lp2p_tstamp rtt); /* yamux only */
} lp2p__muxer_events;

typedef struct lp2p__muxer_config {
  bool is_client;
  uint32_t max_streams; /* each direction */
  lp2p_budget *budget;  /* the connection's scope, or NULL */
  /* yamux only: keepalive ping period and answer timeout (0 = never) */
  lp2p_tstamp keepalive_interval;
  lp2p_tstamp ping_timeout;
  /* yamux only: window updates follow consume, not read */
  bool explicit_credit;
} lp2p__muxer_config;

/* What the budget refused, and yamux's round trip. */
typedef struct lp2p__muxer_stats {
  lp2p_tstamp rtt; /* 0 when unknown (always for mplex) */
  uint64_t streams_reset_budget;
  uint64_t writes_held_budget;
} lp2p__muxer_stats;

typedef struct lp2p__muxer_class {
  const char *protocol;
  bool has_flow_control; /* consume gives the peer room to send */
  int (*create)(void **mux, const lp2p__muxer_config *cfg,
                const lp2p__muxer_events *ev, const lp2p_mem *mem, void *user);
  void (*destroy)(void *mux);
  int (*recv)(void *mux, const uint8_t *in, size_t len, lp2p_tstamp now);
  ssize_t (*pull)(void *mux, const uint8_t **out, lp2p_tstamp now);
  /* optional (yamux): frames written at `out`, up to `cap` bytes, a data
   * frame cut to fill the room; and whether any are due */
  size_t (*pull_into)(void *mux, uint8_t *out, size_t cap, lp2p_tstamp now);
  bool (*has_output)(const void *mux);
  lp2p_tstamp (*expiry)(const void *mux);
  int (*handle_expiry)(void *mux, lp2p_tstamp now);
  int (*error)(const void *mux, const char **msg);
  void (*goaway)(void *mux);
  int (*ping)(void *mux);
  size_t (*num_streams)(const void *mux);
  int (*open)(void *mux, uint64_t *id);
  ssize_t (*write)(void *mux, uint64_t id, const uint8_t *data, size_t len);
  /* bytes a write would take now (0 for an unknown id) */
  size_t (*writable)(const void *mux, uint64_t id);
  ssize_t (*read)(void *mux, uint64_t id, uint8_t *buf, size_t cap, bool *eof);
  /* read without a copy, inside stream_readable: the bytes of the frame
   * being received, in recv's input (0 when they were buffered) */
  ssize_t (*take)(void *mux, uint64_t id, const uint8_t **p, bool *eof);
  int (*consume)(void *mux, uint64_t id, size_t n);
  int (*close)(void *mux, uint64_t id);
  int (*reset)(void *mux, uint64_t id);
  int (*set_user)(void *mux, uint64_t id, void *stream_user);
  void *(*user)(const void *mux, uint64_t id);
  void (*stats)(const void *mux, lp2p__muxer_stats *st);
} lp2p__muxer_class;

extern const lp2p__muxer_class lp2p__yamux_class;
extern const lp2p__muxer_class lp2p__mplex_class;

/* The class of a muxer protocol id, or NULL. */
const lp2p__muxer_class *lp2p__muxer_class_find(const char *protocol);

#endif
