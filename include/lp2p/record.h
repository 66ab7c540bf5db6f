/*
 * lp2p: signed envelopes (libp2p RFC 0002) and peer records (RFC 0003), as
 * go-libp2p and js-libp2p implement them. GossipSub peer exchange carries
 * peer records in PRUNE messages.
 */
#ifndef LP2P_RECORD_H
#define LP2P_RECORD_H

#include "lp2p/crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest envelope decoded, and most addresses kept from a peer record. */
#define LP2P_ENVELOPE_MAX 8192
/* Longest domain string verified. */
#define LP2P_ENVELOPE_DOMAIN_MAX 255
#define LP2P_PEER_RECORD_MAX_ADDRS 32

/* Domain and payload type (multicodec 0x0301, "libp2p-peer-record") of
 * peer records. */
#define LP2P_PEER_RECORD_DOMAIN "libp2p-peer-record"
/* The payload type of peer records: the bytes 0x03 0x01, as go-libp2p. */
extern LP2P_API const uint8_t lp2p_peer_record_payload_type[2];

/* A decoded envelope: every pointer is a view into the decoded bytes. */
typedef struct lp2p_envelope {
  lp2p_pubkey pubkey;
  const uint8_t *payload_type;
  size_t payload_type_len;
  const uint8_t *payload;
  size_t payload_len;
  const uint8_t *signature;
  size_t signature_len;
} lp2p_envelope;

/* Signs `payload` under `domain` and appends the encoded Envelope to `out`.
 * Returns 0, LP2P_ERR_NOMEM, LP2P_ERR_INVALID_ARG (empty domain or payload
 * type), or a signing error. */
LP2P_API int lp2p_envelope_seal(const lp2p_privkey *key, const char *domain,
                                const uint8_t *payload_type,
                                size_t payload_type_len, const uint8_t *payload,
                                size_t payload_len, lp2p_buf *out);
/* Decodes an Envelope without checking its signature. Returns 0 or
 * LP2P_ERR_TOO_LARGE (over LP2P_ENVELOPE_MAX), LP2P_ERR_TRUNCATED,
 * LP2P_ERR_OVERLONG, LP2P_ERR_MALFORMED (a required field missing),
 * LP2P_ERR_WRONG_TYPE (a field of the wrong wire type), or a public key
 * error. */
LP2P_API int lp2p_envelope_decode(const uint8_t *in, size_t len,
                                  lp2p_envelope *env);
/* Checks the signature over domain ‖ payload type ‖ payload without
 * allocating. Returns 0, LP2P_ERR_BAD_SIGNATURE, or LP2P_ERR_TOO_LARGE
 * (a domain over LP2P_ENVELOPE_DOMAIN_MAX or a payload over
 * LP2P_ENVELOPE_MAX). */
LP2P_API int lp2p_envelope_verify(const lp2p_envelope *env, const char *domain);
/* Decodes, verifies under `domain` and checks the payload type. Returns 0,
 * a decode error, LP2P_ERR_BAD_SIGNATURE or LP2P_ERR_WRONG_TYPE. */
LP2P_API int lp2p_envelope_open(const uint8_t *in, size_t len,
                                const char *domain, const uint8_t *payload_type,
                                size_t payload_type_len, lp2p_envelope *env);

/* One address of a peer record. */
typedef struct lp2p_peer_record_addr {
  const uint8_t *bytes; /* binary multiaddr */
  size_t len;
} lp2p_peer_record_addr;

/* A peer record. Decoded addresses are views into the decoded bytes. */
typedef struct lp2p_peer_record {
  lp2p_peer_id peer_id;
  uint64_t seq;
  size_t naddrs;
  lp2p_peer_record_addr addrs[LP2P_PEER_RECORD_MAX_ADDRS];
  /* Set by decoding: addresses skipped because lp2p cannot read them
   * (protocols it does not know, as go-libp2p skips them too) or because
   * LP2P_PEER_RECORD_MAX_ADDRS were already kept. */
  size_t addrs_skipped;
} lp2p_peer_record;

/* Appends the PeerRecord protobuf to `out`. Returns 0, LP2P_ERR_NOMEM or
 * LP2P_ERR_INVALID_ARG (more than LP2P_PEER_RECORD_MAX_ADDRS addresses or
 * an invalid multiaddr). */
LP2P_API int lp2p_peer_record_encode(const lp2p_peer_record *rec,
                                     lp2p_buf *out);
/* Decodes a PeerRecord. Addresses that are not valid multiaddrs for lp2p,
 * and those past LP2P_PEER_RECORD_MAX_ADDRS, are skipped and counted in
 * addrs_skipped. Returns 0 or LP2P_ERR_TRUNCATED, LP2P_ERR_OVERLONG,
 * LP2P_ERR_MALFORMED (no peer id), LP2P_ERR_WRONG_TYPE or a peer id
 * error. */
LP2P_API int lp2p_peer_record_decode(const uint8_t *in, size_t len,
                                     lp2p_peer_record *rec);
/* Encodes `rec` and seals it in an envelope signed by `key`, whose peer id
 * must be rec->peer_id. Appends the envelope to `out`. Returns 0,
 * LP2P_ERR_PEER_ID_MISMATCH, or an encode or seal error. */
LP2P_API int lp2p_peer_record_seal(const lp2p_privkey *key,
                                   const lp2p_peer_record *rec, lp2p_buf *out);
/* Opens a signed peer record: decodes and verifies the envelope (domain
 * "libp2p-peer-record", payload type 0x0301; or rust-libp2p identify's
 * own, domain "libp2p-routing-state" and payload type
 * "/libp2p/routing-state-record", which go-libp2p refuses), decodes the
 * record and checks that the signing key is the record's peer id. Views point
 * into `in`. Returns 0, an envelope or record error, or
 * LP2P_ERR_PEER_ID_MISMATCH. */
LP2P_API int lp2p_peer_record_open(const uint8_t *in, size_t len,
                                   lp2p_peer_record *rec, lp2p_envelope *env);

#ifdef __cplusplus
}
#endif

#endif /* LP2P_RECORD_H */
