/* The framing of meshsub and floodsub streams, sans-IO: every RPC is a
 * uvarint length and then that many bytes of protobuf, in both
 * directions (go-libp2p-pubsub writes with msgio's varint writer and
 * reads with its delimited reader).
 *
 * The router yields framed RPCs (lp2p_router_pull) but takes bare ones
 * (lp2p_router_recv_rpc): the reader here turns the bytes of a stream,
 * split anywhere, into whole bare RPCs handed to a callback; the frame
 * helpers serve whoever builds RPCs by hand (the simulator's attackers,
 * tests) and whoever holds one whole frame (a simulated link). */
#ifndef LP2P_NET_PUBSUB_STREAM_H
#define LP2P_NET_PUBSUB_STREAM_H

#include <stdbool.h>

#include "lp2p/common.h"
#include "lp2p/gossipsub.h"
#include "lp2p/multiformats.h"

/* One whole bare RPC (`len` may be 0: an empty RPC is valid protobuf),
 * valid during the call only. Non-zero stops the reader (it fails with
 * that value). */
typedef int (*lp2p__pubsub_rpc_fn)(const uint8_t *rpc, size_t len, void *user);

/* The reading side of one pubsub stream. */
typedef struct lp2p__pubsub_reader {
  const lp2p_mem *mem;
  size_t max_rpc;
  uint8_t hdr[LP2P_UVARINT_MAX_LEN]; /* a length prefix split across chunks */
  uint8_t hdr_len;
  bool in_body; /* the prefix was read; body_len bytes follow */
  size_t body_len;
  lp2p_buf partial; /* an RPC split across chunks, so far */
  int err;          /* 0, or why the stream is to be reset */
  const char *reason;
  uint64_t refused_len; /* the length an oversize prefix announced */
  /* counters, kept across lp2p__pubsub_reader_reset */
  uint64_t rpcs;        /* whole RPCs handed up */
  uint64_t oversized;   /* prefixes announcing more than max_rpc */
  uint64_t bad_lengths; /* prefixes not a minimal varint of <= 9 bytes */
} lp2p__pubsub_reader;

/* A reader that refuses RPCs over `max_rpc` bytes (the router's
 * limits.max_rpc_size, or the node's max_rpc_size); `mem` may be NULL. */
void lp2p__pubsub_reader_init(lp2p__pubsub_reader *r, size_t max_rpc,
                              const lp2p_mem *mem);
/* Frees what a split RPC holds. */
void lp2p__pubsub_reader_free(lp2p__pubsub_reader *r);
/* A new stream on the same reader: state and buffer dropped, counters
 * kept. */
void lp2p__pubsub_reader_reset(lp2p__pubsub_reader *r);

/* Feeds bytes as they arrive; each RPC they complete goes to `fn`, in
 * order. Returns 0 or, once the stream must be reset (the reader is then
 * failed, and every later call returns the same error):
 * LP2P_ERR_TOO_LARGE (a length over max_rpc: counted in oversized),
 * LP2P_ERR_PROTOCOL (a length that is no minimal varint: bad_lengths),
 * LP2P_ERR_NOMEM (a split RPC could not be kept), or what `fn` returned.
 * lp2p__pubsub_reader_reason says why in English. */
int lp2p__pubsub_reader_recv(lp2p__pubsub_reader *r, const uint8_t *in,
                             size_t len, lp2p__pubsub_rpc_fn fn, void *user);
/* Why the reader failed, or NULL while it has not. */
const char *lp2p__pubsub_reader_reason(const lp2p__pubsub_reader *r);
/* Whether bytes of an unfinished RPC are held (a stream that ends now
 * ended inside an RPC). */
bool lp2p__pubsub_reader_mid_rpc(const lp2p__pubsub_reader *r);

/* Writes the length prefix of an RPC of `len` bytes; returns its size. */
size_t lp2p__pubsub_frame_header(size_t len, uint8_t out[LP2P_UVARINT_MAX_LEN]);
/* Appends the framed RPC to `out`. Returns 0 or LP2P_ERR_NOMEM (`out`
 * unchanged). */
int lp2p__pubsub_frame(lp2p_buf *out, const uint8_t *rpc, size_t len);
/* The bare RPC in a buffer that holds exactly one framed RPC. Returns 0,
 * or LP2P_ERR_PROTOCOL (a bad prefix, a missing or an extra byte). */
int lp2p__pubsub_unframe(const uint8_t *in, size_t len, const uint8_t **rpc,
                         size_t *rpc_len);

/* The writing side of one pubsub stream: framed RPCs go to a stream
 * that may take fewer bytes than offered; what it does not take is held,
 * whole RPCs in order, up to `max_held` bytes, and written first once the
 * stream has room again. Each RPC written to its last byte is reported
 * (SEND_RPC_COMPLETED), in place when the stream took it at once. */
typedef struct lp2p__pubsub_sink {
  /* Writes up to `len` bytes; returns how many the stream took (0: none
   * now, wait for room) or a negative error (the stream is gone). */
  ptrdiff_t (*write)(const uint8_t *p, size_t len, void *user);
  /* Optional: the framed RPC `rpc` was written whole, `since` the time
   * it was put. */
  void (*written)(const uint8_t *rpc, size_t len, lp2p_tstamp since,
                  void *user);
  void *user;
} lp2p__pubsub_sink;

typedef struct lp2p__pubsub_writer {
  const lp2p_mem *mem;
  size_t max_held;
  lp2p_buf held;   /* whole framed RPCs, the first partly written */
  size_t off;      /* bytes of `held` written */
  lp2p_tstamp put; /* when the first held RPC was put (a later one's
                    * time is when it became the first) */
} lp2p__pubsub_writer;

void lp2p__pubsub_writer_init(lp2p__pubsub_writer *w, size_t max_held,
                              const lp2p_mem *mem);
void lp2p__pubsub_writer_free(lp2p__pubsub_writer *w);
/* Writes the held bytes, then the framed RPC `rpc`, holding what the
 * stream does not take. Returns 0, LP2P_ERR_TOO_LARGE (over max_held:
 * the RPC is not kept), LP2P_ERR_NOMEM (not kept either), or the sink's
 * error (the stream is gone; nothing more is held). */
int lp2p__pubsub_writer_put(lp2p__pubsub_writer *w, const uint8_t *rpc,
                            size_t len, const lp2p__pubsub_sink *sink,
                            lp2p_tstamp now);
/* Writes what is held. Returns 1 when nothing is held any more, 0 while
 * some is, or the sink's error. */
int lp2p__pubsub_writer_flush(lp2p__pubsub_writer *w,
                              const lp2p__pubsub_sink *sink, lp2p_tstamp now);
/* Bytes held, not yet written. */
size_t lp2p__pubsub_writer_held(const lp2p__pubsub_writer *w);
/* Forgets what is held (the stream was reset: a torn RPC cannot go on
 * another). */
void lp2p__pubsub_writer_clear(lp2p__pubsub_writer *w);

/* The version a negotiated pubsub protocol id stands for (the router's
 * lp2p_peer_info.proto); an id of none of them is floodsub. */
lp2p_pubsub_proto lp2p__pubsub_proto_of(const char *id);

#endif
