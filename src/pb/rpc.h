/* The pubsub RPC codec (rpc.proto of the pubsub specs), hand-written for
 * the hot path: decoding yields views into the input and allocates only
 * when an RPC has more entries than any before it; encoding appends fields
 * to buffers so that an RPC can be assembled from pieces, and forwarded
 * messages are copied as their received bytes, never encoded again. */
#ifndef LP2P_PB_RPC_H
#define LP2P_PB_RPC_H

#include <stdbool.h>

#include "lp2p/common.h"

/* Field numbers of rpc.proto. */
enum {
  LP2P_RPC_SUBSCRIPTIONS = 1,
  LP2P_RPC_PUBLISH = 2,
  LP2P_RPC_CONTROL = 3,
  LP2P_CTL_IHAVE = 1,
  LP2P_CTL_IWANT = 2,
  LP2P_CTL_GRAFT = 3,
  LP2P_CTL_PRUNE = 4,
  LP2P_CTL_IDONTWANT = 5,
  /* gossipsub v1.3 */
  LP2P_CTL_EXTENSIONS = 6,           /* ControlMessage.extensions */
  LP2P_EXT_PARTIAL_MESSAGES = 10,    /* ControlExtensions.partialMessages */
  LP2P_EXT_TEST = 6492434,           /* ControlExtensions.testExtension */
  LP2P_RPC_TEST_EXTENSION = 6492434, /* RPC.testExtension, an empty message */
  /* the partial-messages extension */
  LP2P_RPC_PARTIAL = 10,         /* RPC.partial */
  LP2P_SUB_REQUESTS_PARTIAL = 3, /* SubOpts.requestsPartial */
  LP2P_SUB_SUPPORTS_PARTIAL = 4, /* SubOpts.supportsSendingPartial */
  LP2P_PARTIAL_TOPIC = 1,        /* PartialMessagesExtension.topicID */
  LP2P_PARTIAL_GROUP = 2,        /* .groupID */
  LP2P_PARTIAL_MESSAGE = 3,      /* .partialMessage */
  LP2P_PARTIAL_METADATA = 4      /* .partsMetadata */
};

/* Per-RPC limits. An RPC over max_rpc_size, or with a topic or an id
 * over its length limit, is refused whole (LP2P_ERR_TOO_LARGE); entries
 * past a count limit are decoded (a malformed one still fails the RPC)
 * and skipped, counted in lp2p_rpc.truncated. */
typedef struct lp2p_rpc_limits {
  size_t max_rpc_size;      /* bytes of the whole RPC */
  size_t max_subscriptions; /* SubOpts entries */
  size_t max_messages;      /* Message entries */
  size_t max_control;       /* IHAVE + IWANT + GRAFT + PRUNE + IDONTWANT */
  size_t max_ids;           /* message ids over all IHAVE/IWANT/IDONTWANT */
  size_t max_px;            /* PeerInfo entries over all PRUNEs */
  size_t max_topic_len;     /* bytes of a topic name */
  size_t max_id_len;        /* bytes of a message id */
} lp2p_rpc_limits;

typedef struct lp2p_rpc_sub {
  lp2p_bytes topic;
  bool subscribe;
  /* the partial-messages extension (false when absent) */
  bool requests_partial, supports_partial;
} lp2p_rpc_sub;

/* RPC.partial (PartialMessagesExtension): views, data NULL when absent.
 * The topic is checked against max_topic_len and the group id against
 * max_id_len; the parts and their metadata are opaque to the codec. */
typedef struct lp2p_rpc_partial {
  lp2p_bytes topic, group, message, metadata;
} lp2p_rpc_partial;

typedef struct lp2p_rpc_msg {
  lp2p_bytes raw; /* the encoded Message, forwarded as it came */
  lp2p_bytes from, data, seqno, topic, signature, key;
} lp2p_rpc_msg;

/* IHAVE, IWANT and IDONTWANT entries point into the shared id list. */
typedef struct lp2p_rpc_ids {
  lp2p_bytes topic; /* IHAVE only */
  size_t first, count;
} lp2p_rpc_ids;

typedef struct lp2p_rpc_prune {
  lp2p_bytes topic;
  uint64_t backoff; /* seconds; 0 when absent */
  size_t first_px, npx;
} lp2p_rpc_prune;

typedef struct lp2p_rpc_px {
  lp2p_bytes peer_id, record;
} lp2p_rpc_px;

/* ControlExtensions (gossipsub v1.3): what a peer advertises. */
typedef struct lp2p_rpc_extensions {
  bool partial_messages;
  bool test_extension;
} lp2p_rpc_extensions;

/* Growable arrays of decoded entries, reused from one RPC to the next. */
#define LP2P_RPC_ARRAY(type)                                                   \
  struct {                                                                     \
    type *items;                                                               \
    size_t len, cap;                                                           \
  }

typedef struct lp2p_rpc {
  const lp2p_mem *mem;
  LP2P_RPC_ARRAY(lp2p_rpc_sub) subs;
  LP2P_RPC_ARRAY(lp2p_rpc_msg) msgs;
  LP2P_RPC_ARRAY(lp2p_rpc_ids) ihave;
  LP2P_RPC_ARRAY(lp2p_rpc_ids) iwant;
  LP2P_RPC_ARRAY(lp2p_bytes) graft;
  LP2P_RPC_ARRAY(lp2p_rpc_prune) prune;
  LP2P_RPC_ARRAY(lp2p_rpc_ids) idontwant;
  LP2P_RPC_ARRAY(lp2p_bytes) ids;
  LP2P_RPC_ARRAY(lp2p_rpc_px) px;
  /* gossipsub v1.3: ControlMessage.extensions was present (occurrences
   * merge as protobuf merges them: the last value of each field wins),
   * and RPC.testExtension was */
  bool has_extensions;
  lp2p_rpc_extensions ext;
  bool test_extension;
  /* RPC.partial was present (an optional message: occurrences merge, the
   * last value of each field wins) */
  bool has_partial;
  lp2p_rpc_partial partial;
  /* entries skipped past a count limit: SubOpts, Messages, control
   * entries (with their ids and PX), ids, PX */
  size_t truncated;
} lp2p_rpc;

void lp2p_rpc_init(lp2p_rpc *rpc, const lp2p_mem *mem);
void lp2p_rpc_free(lp2p_rpc *rpc);
/* Decodes one RPC (without its length prefix) into `rpc`, whose views then
 * point into `in`. Returns 0, LP2P_ERR_TRUNCATED, LP2P_ERR_OVERLONG,
 * LP2P_ERR_MALFORMED, LP2P_ERR_WRONG_TYPE (a known field of the wrong wire
 * type), LP2P_ERR_TOO_LARGE (a size limit) or LP2P_ERR_NOMEM. Unknown
 * fields are skipped, as protobuf requires; entries past a count limit
 * too (see lp2p_rpc_limits). */
int lp2p_rpc_decode(lp2p_rpc *rpc, const uint8_t *in, size_t len,
                    const lp2p_rpc_limits *limits);

/* Decodes one Message (the bytes of an RPC.publish entry). Returns 0 or a
 * decode error; field views point into `in`. */
int lp2p_rpc_decode_message(const uint8_t *in, size_t len, lp2p_rpc_msg *msg);

/* ---- encoding: each function appends and returns 0 or LP2P_ERR_NOMEM,
 * leaving the buffer as it was on failure. */

/* A Message with the fields that are present (data != NULL), in field
 * order; signature and key may be absent. */
int lp2p_rpc_put_message_body(lp2p_buf *b, const lp2p_rpc_msg *m);
/* RPC-level entries. */
int lp2p_rpc_put_sub(lp2p_buf *b, bool subscribe, const uint8_t *topic,
                     size_t topic_len);
/* A SubOpts with the partial-messages fields: each written only when
 * true (a subscription without them encodes as lp2p_rpc_put_sub's). */
int lp2p_rpc_put_sub_partial(lp2p_buf *b, const lp2p_rpc_sub *sub);
/* RPC.partial with the fields of `pm` that are present (data != NULL). */
int lp2p_rpc_put_partial(lp2p_buf *b, const lp2p_rpc_partial *pm);
int lp2p_rpc_put_publish(lp2p_buf *b, const uint8_t *msg, size_t msg_len);
/* ControlMessage-level entries: concatenating them forms a ControlMessage
 * body, since all its fields are repeated. */
int lp2p_ctl_put_ihave(lp2p_buf *b, const uint8_t *topic, size_t topic_len,
                       const lp2p_bytes *ids, size_t n);
int lp2p_ctl_put_ids(lp2p_buf *b, uint32_t field, const lp2p_bytes *ids,
                     size_t n);
int lp2p_ctl_put_graft(lp2p_buf *b, const uint8_t *topic, size_t topic_len);
int lp2p_ctl_put_prune(lp2p_buf *b, const uint8_t *topic, size_t topic_len,
                       uint64_t backoff, const lp2p_rpc_px *px, size_t npx);
/* A ControlMessage.extensions entry advertising the extensions set in
 * `e` (only those: an absent field means no). */
int lp2p_ctl_put_extensions(lp2p_buf *b, const lp2p_rpc_extensions *e);
/* RPC.testExtension: an empty TestExtension message. */
int lp2p_rpc_put_test_extension(lp2p_buf *b);
/* The RPC.control field wrapping a ControlMessage body. */
int lp2p_rpc_put_control(lp2p_buf *b, const uint8_t *ctl, size_t ctl_len);

#endif
