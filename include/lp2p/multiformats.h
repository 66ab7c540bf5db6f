/*
 * lp2p: multiformats: unsigned varint, multihash, multibase, multiaddr and
 * the byte and text forms of peer ids.
 */
#ifndef LP2P_MULTIFORMATS_H
#define LP2P_MULTIFORMATS_H

#include <stdbool.h>

#include "lp2p/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- unsigned varint (multiformats/unsigned-varint) ---------------------
 * Minimal encodings only, at most 9 bytes, so values up to 2^63 - 1. */
#define LP2P_UVARINT_MAX_LEN 9
#define LP2P_UVARINT_MAX ((UINT64_C(1) << 63) - 1)

/* Bytes needed to encode `v` (1..9); 0 when v > LP2P_UVARINT_MAX. */
LP2P_API size_t lp2p_uvarint_len(uint64_t v);
/* Writes `v` at `out`. Returns the number of bytes written, or
 * LP2P_ERR_TOO_LARGE (v > LP2P_UVARINT_MAX) or LP2P_ERR_BUFFER_TOO_SMALL. */
LP2P_API int lp2p_uvarint_encode(uint64_t v, uint8_t *out, size_t cap);
/* Reads one varint from the start of `in`. Returns the number of bytes
 * consumed (1..9), or LP2P_ERR_TRUNCATED (input ends inside the varint) or
 * LP2P_ERR_OVERLONG (not minimal, or longer than 9 bytes). */
LP2P_API int lp2p_uvarint_decode(const uint8_t *in, size_t len, uint64_t *v);

/* ---- multihash ---------------------------------------------------------- */
/* Multihash function codes lp2p encodes: identity and sha2-256. */
#define LP2P_MH_IDENTITY 0x00
#define LP2P_MH_SHA2_256 0x12
/* Digest size limit for decoding; longer digests are LP2P_ERR_TOO_LARGE. */
#define LP2P_MH_MAX_DIGEST 128

/* A decoded multihash. */
typedef struct lp2p_multihash {
  uint64_t code;
  const uint8_t *digest; /* view into the decoded input */
  size_t digest_len;
} lp2p_multihash;

/* Decodes the multihash at the start of `in` (code, length, digest) and
 * returns the bytes it occupies, or LP2P_ERR_TRUNCATED, LP2P_ERR_OVERLONG,
 * LP2P_ERR_TOO_LARGE (digest over LP2P_MH_MAX_DIGEST), LP2P_ERR_MALFORMED
 * (sha2-256 digest not 32 bytes). Unknown codes are accepted. */
LP2P_API int lp2p_multihash_decode(const uint8_t *in, size_t len,
                                   lp2p_multihash *mh);
/* Encodes code ‖ length ‖ digest: identity stores `data` itself, sha2-256
 * hashes it. Returns the bytes written, or LP2P_ERR_UNSUPPORTED (other
 * codes) or LP2P_ERR_BUFFER_TOO_SMALL. */
LP2P_API int lp2p_multihash_encode(uint64_t code, const uint8_t *data,
                                   size_t len, uint8_t *out, size_t cap);

/* ---- multibase ---------------------------------------------------------- */
/* Multibase prefix of base58btc. */
#define LP2P_MULTIBASE_BASE58BTC 'z'
#define LP2P_MULTIBASE_BASE32 'b' /* RFC 4648 lower case, no padding */
/* Longest text the base58 decoder accepts; it is quadratic in length. */
#define LP2P_BASE58_MAX_TEXT 512

/* Raw base58btc (no multibase prefix). `out` receives a NUL-terminated
 * string. Returns its length, LP2P_ERR_BUFFER_TOO_SMALL or
 * LP2P_ERR_TOO_LARGE (input over LP2P_BASE58_MAX_TEXT bytes). */
LP2P_API int lp2p_base58_encode(const uint8_t *in, size_t len, char *out,
                                size_t cap);
/* Returns the number of bytes decoded, or LP2P_ERR_MALFORMED (a character
 * outside the alphabet), LP2P_ERR_TOO_LARGE (text over
 * LP2P_BASE58_MAX_TEXT) or LP2P_ERR_BUFFER_TOO_SMALL. */
LP2P_API int lp2p_base58_decode(const char *text, size_t len, uint8_t *out,
                                size_t cap);
/* Raw base32 lower case without padding; same contract as base58. Decoding
 * also rejects non-zero padding bits and impossible lengths (MALFORMED). */
LP2P_API int lp2p_base32_encode(const uint8_t *in, size_t len, char *out,
                                size_t cap);
/* Decodes raw base32; see the encoder. */
LP2P_API int lp2p_base32_decode(const char *text, size_t len, uint8_t *out,
                                size_t cap);
/* Multibase: the prefix character selects the base ('z' or 'b').
 * Decoding an unknown prefix is LP2P_ERR_UNSUPPORTED. */
LP2P_API int lp2p_multibase_encode(char base, const uint8_t *in, size_t len,
                                   char *out, size_t cap);
/* Decodes multibase text, its prefix included. */
LP2P_API int lp2p_multibase_decode(const char *text, size_t len, uint8_t *out,
                                   size_t cap);

/* ---- peer ids ----------------------------------------------------------- */
/* An identity multihash of a key of at most 42 bytes: 0x00, length, key. */
#define LP2P_PEER_ID_MAX 44
/* Longest text form (CIDv1 base32 of the longest id) plus NUL. */
#define LP2P_PEER_ID_TEXT_MAX 80

/* A peer id in its byte form (a multihash). */
typedef struct lp2p_peer_id {
  uint8_t len;
  uint8_t bytes[LP2P_PEER_ID_MAX];
} lp2p_peer_id;

/* Accepts an identity multihash of at most 42 bytes or a sha2-256
 * multihash, nothing else. Returns 0, or LP2P_ERR_TRUNCATED,
 * LP2P_ERR_OVERLONG, LP2P_ERR_TRAILING, LP2P_ERR_TOO_LARGE (identity digest
 * over 42 bytes), LP2P_ERR_UNSUPPORTED (other hash functions),
 * LP2P_ERR_MALFORMED. */
LP2P_API int lp2p_peer_id_from_bytes(const uint8_t *in, size_t len,
                                     lp2p_peer_id *id);
/* Parses either text form: base58btc multihash ("Qm...", "12D3KooW...",
 * "16Uiu2...") or a multibase CIDv1 with the libp2p-key codec ("bafz...").
 * Returns 0, LP2P_ERR_MALFORMED, LP2P_ERR_WRONG_TYPE (a CID of another
 * codec), LP2P_ERR_UNSUPPORTED, LP2P_ERR_TOO_LARGE or a from_bytes error. */
LP2P_API int lp2p_peer_id_parse(const char *text, size_t len, lp2p_peer_id *id);
/* Writes the base58btc form, NUL-terminated. Returns its length or
 * LP2P_ERR_BUFFER_TOO_SMALL. */
LP2P_API int lp2p_peer_id_to_base58(const lp2p_peer_id *id, char *out,
                                    size_t cap);
/* Writes the CIDv1 form (libp2p-key, base32): "bafz...". Same returns. */
LP2P_API int lp2p_peer_id_to_cid(const lp2p_peer_id *id, char *out, size_t cap);
/* Whether two peer ids are the same bytes. */
LP2P_API bool lp2p_peer_id_equal(const lp2p_peer_id *a, const lp2p_peer_id *b);

/* ---- multiaddr ----------------------------------------------------------
 * Binary multiaddrs are byte strings of (code varint, value) components.
 * Supported: ip4, ip6, tcp, udp, quic-v1, p2p (alias ipfs when parsing),
 * dns, dns4, dns6, dnsaddr. */
#define LP2P_MA_IP4 0x04
#define LP2P_MA_TCP 0x06
#define LP2P_MA_UDP 0x0111
#define LP2P_MA_IP6 0x29
#define LP2P_MA_DNS 0x35
#define LP2P_MA_DNS4 0x36
#define LP2P_MA_DNS6 0x37
#define LP2P_MA_DNSADDR 0x38
#define LP2P_MA_P2P 0x01a5
#define LP2P_MA_QUIC_V1 0x01cd

/* Longest binary multiaddr accepted, and longest text form produced. */
#define LP2P_MULTIADDR_MAX 1024
/* Longest DNS name in a dns, dns4, dns6 or dnsaddr component. */
#define LP2P_MA_DNS_MAX 255

/* One component of a binary multiaddr, as lp2p_multiaddr_next reads it. */
typedef struct lp2p_ma_component {
  uint64_t code;
  const char *name;     /* "ip4", "tcp", ... */
  const uint8_t *value; /* view into the multiaddr; NULL when empty */
  size_t value_len;
} lp2p_ma_component;

/* Reads the component at byte offset *off and advances *off past it.
 * Returns 1 when a component was read, 0 at the end, or a negative error:
 * LP2P_ERR_UNKNOWN_PROTOCOL, LP2P_ERR_TRUNCATED, LP2P_ERR_OVERLONG,
 * LP2P_ERR_MALFORMED (a value that is not valid for its protocol) or
 * LP2P_ERR_TOO_LARGE. `err` (may be NULL) names the cause. */
LP2P_API int lp2p_multiaddr_next(const uint8_t *ma, size_t len, size_t *off,
                                 lp2p_ma_component *c, lp2p_errdetail *err);
/* Checks a whole binary multiaddr: non-empty, at most LP2P_MULTIADDR_MAX
 * bytes, every component valid. Returns 0 or an error of _next (or
 * LP2P_ERR_MALFORMED when empty). */
LP2P_API int lp2p_multiaddr_validate(const uint8_t *ma, size_t len,
                                     lp2p_errdetail *err);
/* Parses the text form ("/ip4/127.0.0.1/tcp/4001") and appends the binary
 * form to `out`. Returns 0 or LP2P_ERR_UNKNOWN_PROTOCOL, LP2P_ERR_MALFORMED,
 * LP2P_ERR_TOO_LARGE, LP2P_ERR_NOMEM; `err` names the cause. */
LP2P_API int lp2p_multiaddr_parse(const char *text, lp2p_buf *out,
                                  lp2p_errdetail *err);
/* Appends the text form of a binary multiaddr to `out` (NUL-terminated).
 * Returns 0, a validation error, or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_multiaddr_format(const uint8_t *ma, size_t len, lp2p_buf *out,
                                   lp2p_errdetail *err);

#ifdef __cplusplus
}
#endif

#endif /* LP2P_MULTIFORMATS_H */
