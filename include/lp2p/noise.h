/*
 * lp2p: the secure channel and the two protocols every connection speaks
 * first, all sans-IO:
 *
 * - Noise (noise/README.md): Noise_XX_25519_ChaChaPoly_SHA256 with the
 *   libp2p handshake payload, inlined stream-muxer negotiation
 *   (connections/inlined-muxer-negotiation.md) and 2-byte length framing;
 * - identify (identify/README.md): the Identify message, its framing and
 *   its validation against the connection's peer;
 * - ping (ping/ping.md): 32 random bytes echoed, both roles.
 *
 * None of them reads a clock, a socket or a random source: bytes and the
 * current time go in, bytes, events and deadlines come out. The Noise
 * session and ping follow the output contract of lp2p/net.h: `_pull`
 * returns the bytes ready at `*out` (0 when none), which count as sent and
 * stay valid until the next call on the same object. Callbacks run inside
 * `_recv` only and must not call `_recv` or `_del` of the same object.
 */
#ifndef LP2P_NOISE_H
#define LP2P_NOISE_H

#include <stdbool.h>
#include <sys/types.h>

#include "lp2p/common.h"
#include "lp2p/crypto.h"
#include "lp2p/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Noise ============================================================= */

/* The security protocol id Noise is negotiated with. */
#define LP2P_NOISE_PROTOCOL_ID "/noise"
/* A Noise message is at most 65535 bytes, its 16-byte tag included; each
 * travels behind a 2-byte big-endian length. */
#define LP2P_NOISE_MAX_MESSAGE 65535
#define LP2P_NOISE_TAG_LEN 16
#define LP2P_NOISE_MAX_PLAINTEXT (LP2P_NOISE_MAX_MESSAGE - LP2P_NOISE_TAG_LEN)
/* Stream muxers offered as early data: at most this many, each a protocol
 * id of 1 to LP2P_NOISE_MUXER_NAME_MAX bytes. A remote's longer or extra
 * names are skipped (no muxer lp2p speaks could match them). */
#define LP2P_NOISE_MAX_MUXERS 8
#define LP2P_NOISE_MUXER_NAME_MAX 64
/* Defaults used when the corresponding setting is 0. */
#define LP2P_NOISE_DEFAULT_HANDSHAKE_TIMEOUT (10 * LP2P_SECONDS)
#define LP2P_NOISE_DEFAULT_MAX_BUFFER ((size_t)1 << 20)

/* A Noise session: the handshake, then the secure channel. */
typedef struct lp2p_noise lp2p_noise;

/* Which side of the handshake we are. */
typedef enum lp2p_noise_role {
  LP2P_NOISE_INITIATOR = 0, /* the dialer: sends the first message */
  LP2P_NOISE_RESPONDER = 1, /* the listener */
} lp2p_noise_role;

/* A session's settings; lp2p_noise_settings_default. */
typedef struct lp2p_noise_settings {
  lp2p_noise_role role;
  /* Our identity, Ed25519 or secp256k1. Only lp2p_noise_new uses it, to
   * sign the session's static key; the session does not keep it. */
  const lp2p_privkey *identity;
  /* The peer we mean to reach (a dialer knows it); NULL accepts any. */
  const lp2p_peer_id *remote_peer_id;
  /* Stream muxers we offer as early data, most preferred first, e.g.
   * "/yamux/1.0.0", "/mplex/6.7.0"; copied. None: no NoiseExtensions. */
  const char *const *muxers;
  size_t nmuxers;
  /* The time the session starts; the handshake timeout runs from it. */
  lp2p_tstamp now;
  /* Time allowed for the handshake; 0 = the default, LP2P_TSTAMP_NEVER =
   * none. */
  lp2p_tstamp handshake_timeout;
  /* Bound on received bytes held (decrypted and waiting for
   * lp2p_noise_read, or part of an incomplete frame; see
   * lp2p_noise_recv_room), at least 2 + LP2P_NOISE_MAX_MESSAGE; and on
   * ciphertext waiting for lp2p_noise_pull, at least 19 (one byte in one
   * frame). 0 = LP2P_NOISE_DEFAULT_MAX_BUFFER. */
  size_t max_recv_buffer;
  size_t max_send_buffer;
  /* Draws the static and ephemeral X25519 keys: must be a CSPRNG. */
  lp2p_rand_fn rand_fn;
  void *rand_user;
} lp2p_noise_settings;

/* Zeroes the settings, i.e. every default; the caller sets role, identity,
 * rand_fn, now and what else it needs. */
LP2P_API void lp2p_noise_settings_default(lp2p_noise_settings *s);

/* The authenticated remote peer, known once the handshake completes. */
typedef struct lp2p_noise_peer {
  lp2p_peer_id peer_id;
  lp2p_pubkey pubkey; /* its identity key, checked against the signature */
  /* The stream muxers it listed as early data, NUL-terminated, in its
   * order; names too long or past LP2P_NOISE_MAX_MUXERS are counted in
   * muxers_skipped. */
  size_t nmuxers;
  char muxers[LP2P_NOISE_MAX_MUXERS][LP2P_NOISE_MUXER_NAME_MAX + 1];
  size_t muxers_skipped;
  bool has_extensions; /* it sent NoiseExtensions at all */
  /* The muxer both sides listed: the first of the initiator's list that
   * the responder also lists (one of our own names). NULL when either
   * list is empty or they share none; then the host negotiates the muxer
   * with multistream-select, as go-libp2p does (the inlined-negotiation
   * draft says to fail, which would break peers that send no list). */
  const char *muxer;
} lp2p_noise_peer;

/* A session's hook. */
typedef struct lp2p_noise_callbacks {
  /* The handshake completed and the remote is authenticated; `peer` lives
   * as long as the session. Writing is allowed from here on, also from
   * inside the callback. Returning a negative LP2P_ERR_* code fails the
   * session with it (a connection gater refusing the peer); 0 accepts.
   * May be NULL. */
  int (*handshake_done)(lp2p_noise *s, const lp2p_noise_peer *peer, void *user);
} lp2p_noise_callbacks;

/*
 * Creates a session. An initiator has its first message ready to pull at
 * once. `cb` and `mem` may be NULL. Returns 0, LP2P_ERR_NOMEM,
 * LP2P_ERR_INVALID_ARG (no identity or rand_fn, an unknown role, more
 * than LP2P_NOISE_MAX_MUXERS muxers, a muxer name empty or over
 * LP2P_NOISE_MUXER_NAME_MAX bytes, a buffer bound below its minimum),
 * LP2P_ERR_UNSUPPORTED (an identity that cannot sign) or LP2P_ERR_CRYPTO.
 */
LP2P_API int lp2p_noise_new(lp2p_noise **out, const lp2p_noise_settings *s,
                            const lp2p_noise_callbacks *cb, const lp2p_mem *mem,
                            void *user);
/* Wipes every key and the buffered plaintext, and frees the session. Not
 * from inside a callback. NULL is a no-op. */
LP2P_API void lp2p_noise_del(lp2p_noise *s);

/*
 * Feeds bytes received from the remote: handshake messages, then
 * transport frames, split anywhere. Handshake replies become available
 * to lp2p_noise_pull, decrypted data to lp2p_noise_read, and
 * handshake_done fires from inside this call.
 * Returns 0, or, with the session failed for good (later calls return
 * LP2P_ERR_STATE):
 *   LP2P_ERR_MALFORMED      a message shorter than its keys and tag, or a
 *                           payload without identity key or signature;
 *   LP2P_ERR_BAD_SIGNATURE  a message fails authentication (tampered or
 *                           not for these keys), or the identity
 *                           signature over the static key is wrong;
 *   LP2P_ERR_BAD_KEY        a low-order X25519 key, or an invalid
 *                           identity key;
 *   LP2P_ERR_PEER_ID_MISMATCH  not the peer in remote_peer_id;
 *   LP2P_ERR_STATE          the receive nonce is exhausted (2^64 - 1);
 *   LP2P_ERR_TRUNCATED, LP2P_ERR_OVERLONG, LP2P_ERR_WRONG_TYPE,
 *   LP2P_ERR_TOO_LARGE, LP2P_ERR_UNSUPPORTED  a handshake payload or
 *                           identity key that does not decode;
 *   LP2P_ERR_NOMEM, or a code returned by handshake_done.
 * And, with the session intact and nothing consumed: LP2P_ERR_TOO_LARGE
 * when len exceeds lp2p_noise_recv_room (read first).
 */
LP2P_API int lp2p_noise_recv(lp2p_noise *s, const uint8_t *in, size_t len,
                             lp2p_tstamp now);
/* How many bytes lp2p_noise_recv accepts now: max_recv_buffer less the
 * bytes held (decrypted and not yet read, or of an incomplete frame). */
LP2P_API size_t lp2p_noise_recv_room(const lp2p_noise *s);

/*
 * The decrypted bytes received so far and not yet read: points *out at
 * them, returns their number (0 when there are none) and counts them as
 * read. The view stays valid until the next call on the session.
 * Returns LP2P_ERR_STATE on a failed session.
 */
LP2P_API ssize_t lp2p_noise_read(lp2p_noise *s, const uint8_t **out);

/*
 * Encrypts plaintext into transport frames of at most
 * LP2P_NOISE_MAX_PLAINTEXT bytes each. Returns how many bytes were taken:
 * fewer than len (maybe 0) when max_send_buffer is reached, so pull and
 * write the rest later. Errors: LP2P_ERR_STATE before the handshake
 * completes or on a failed session, LP2P_ERR_NOMEM; and, failing the
 * session, LP2P_ERR_STATE when the send nonce is exhausted (2^64 - 1).
 */
LP2P_API ssize_t lp2p_noise_write(lp2p_noise *s, const uint8_t *data,
                                  size_t len);

/*
 * The bytes to send to the remote (handshake messages and frames, already
 * framed): points *out at them, returns their number (0 when there is
 * nothing to send) and counts them as sent. The view stays valid until
 * the next call on the session. Returns LP2P_ERR_STATE on a failed
 * session.
 */
LP2P_API ssize_t lp2p_noise_pull(lp2p_noise *s, const uint8_t **out,
                                 lp2p_tstamp now);

/* When to call lp2p_noise_handle_expiry: the handshake deadline while it
 * runs, LP2P_TSTAMP_NEVER otherwise. */
LP2P_API lp2p_tstamp lp2p_noise_expiry(const lp2p_noise *s);
/* Fails the session when the handshake has not completed by its deadline.
 * Returns 0 (nothing due), LP2P_ERR_TIMEOUT (the remote's messages never
 * all arrived; the session is failed) or LP2P_ERR_STATE on an already
 * failed session. */
LP2P_API int lp2p_noise_handle_expiry(lp2p_noise *s, lp2p_tstamp now);

/* Whether the handshake has completed (and the session not failed). */
LP2P_API bool lp2p_noise_is_established(const lp2p_noise *s);
/* The remote peer once the handshake completed, else NULL. */
LP2P_API const lp2p_noise_peer *lp2p_noise_remote(const lp2p_noise *s);

/* ==== identify ========================================================== */

/* Protocol ids of identify and identify push. */
#define LP2P_IDENTIFY_PROTOCOL_ID "/ipfs/id/1.0.0"
#define LP2P_IDENTIFY_PUSH_PROTOCOL_ID "/ipfs/id/push/1.0.0"
/* Largest message read, and most messages merged from one stream
 * (go-libp2p's signedIDSize and maxMessages: go sends a large signed peer
 * record in a second message). */
#define LP2P_IDENTIFY_MAX_SIZE 8192
#define LP2P_IDENTIFY_MAX_MESSAGES 10
/* An identify answer or push must end within this of its stream's start
 * (as go-libp2p's identify Timeout); else the stream is reset. */
#define LP2P_IDENTIFY_TIMEOUT (30 * LP2P_SECONDS)
/* Our identify request failed before an answer (its stream reset, or
 * its negotiation past the deadline: a storm of handshakes can hold a
 * connection's packets for seconds): asked again once, this much later.
 * go gives up at once; rust asks again on its 5-minute interval. Not
 * when the peer refused the protocol. */
#define LP2P_IDENTIFY_RETRY_DELAY (1 * LP2P_SECONDS)
/* The most an identify stream can carry (each length prefix takes 2
 * bytes): a host collects at most this much before lp2p_identify_read. */
#define LP2P_IDENTIFY_MAX_STREAM                                               \
  (LP2P_IDENTIFY_MAX_MESSAGES * (LP2P_IDENTIFY_MAX_SIZE + 2))
/* Largest message lp2p writes (rust-libp2p reads at most 4 KiB), and the
 * size over which the signed peer record goes in a message of its own
 * (go-libp2p's legacyIDSize). */
#define LP2P_IDENTIFY_SEND_MAX 4096
#define LP2P_IDENTIFY_LEGACY_SIZE 2048
/* Most listen addresses and protocols kept; more are counted and
 * skipped. A protocol id is 1 to LP2P_IDENTIFY_PROTOCOL_MAX bytes. */
#define LP2P_IDENTIFY_MAX_ADDRS 64
#define LP2P_IDENTIFY_MAX_PROTOCOLS 256
#define LP2P_IDENTIFY_PROTOCOL_MAX 1024

/*
 * Identify{publicKey = 1, listenAddrs = 2, protocols = 3, observedAddr = 4,
 * protocolVersion = 5, agentVersion = 6, signedPeerRecord = 8}. Decoded
 * fields are views into the input; an absent field has data == NULL.
 */
typedef struct lp2p_identify {
  lp2p_bytes public_key; /* a PublicKey protobuf */
  size_t naddrs;
  lp2p_bytes listen_addrs[LP2P_IDENTIFY_MAX_ADDRS]; /* binary multiaddrs */
  size_t nprotocols;
  lp2p_bytes protocols[LP2P_IDENTIFY_MAX_PROTOCOLS];
  lp2p_bytes observed_addr;
  lp2p_bytes protocol_version;
  lp2p_bytes agent_version;
  lp2p_bytes signed_peer_record; /* an Envelope holding a PeerRecord */
  /* Set by decoding: listen addresses that are not valid multiaddrs or
   * past LP2P_IDENTIFY_MAX_ADDRS, protocol ids empty, too long or past
   * LP2P_IDENTIFY_MAX_PROTOCOLS, and an observed address that is not a
   * valid multiaddr (then observed_addr is absent). */
  size_t addrs_skipped;
  size_t protocols_skipped;
  size_t observed_addr_skipped;
} lp2p_identify;

/* Appends the Identify protobuf (no length prefix). Returns 0,
 * LP2P_ERR_NOMEM, or LP2P_ERR_INVALID_ARG (naddrs or nprotocols over their
 * bound, an invalid multiaddr, an empty or too long protocol id). */
LP2P_API int lp2p_identify_encode(const lp2p_identify *id, lp2p_buf *out);
/*
 * Appends what an identify or push stream carries: varint-length-prefixed
 * messages, one, or two when the signed peer record would take the message
 * over LP2P_IDENTIFY_LEGACY_SIZE (go-libp2p's layout). Returns 0, an encode
 * error, or LP2P_ERR_TOO_LARGE (a message over LP2P_IDENTIFY_SEND_MAX:
 * offer fewer addresses or protocols). `out` is unchanged on failure.
 */
LP2P_API int lp2p_identify_write(const lp2p_identify *id, lp2p_buf *out);
/*
 * Decodes one Identify protobuf into `id` (cleared first). Invalid and
 * surplus entries are skipped and counted, not errors. Returns 0,
 * LP2P_ERR_TOO_LARGE (over LP2P_IDENTIFY_MAX_SIZE), LP2P_ERR_TRUNCATED,
 * LP2P_ERR_OVERLONG, LP2P_ERR_MALFORMED or LP2P_ERR_WRONG_TYPE.
 */
LP2P_API int lp2p_identify_decode(const uint8_t *in, size_t len,
                                  lp2p_identify *id);
/* Decodes one more Identify message into `id` with protobuf merge rules:
 * fields present replace, repeated fields append. Same returns; `id` may
 * be partly merged on failure. */
LP2P_API int lp2p_identify_merge(const uint8_t *in, size_t len,
                                 lp2p_identify *id);
/*
 * Finds the varint-delimited message at the start of `in`. Returns the
 * bytes it takes with its prefix (> 0; *msg and *msg_len give the body),
 * 0 when more input is needed, or LP2P_ERR_OVERLONG (a bad varint) or
 * LP2P_ERR_TOO_LARGE (a body over LP2P_IDENTIFY_MAX_SIZE).
 */
LP2P_API int lp2p_identify_frame(const uint8_t *in, size_t len,
                                 const uint8_t **msg, size_t *msg_len);
/*
 * Decodes everything an identify stream carried until the remote closed
 * it: up to LP2P_IDENTIFY_MAX_MESSAGES delimited messages, merged. No
 * message at all gives an empty Identify. Returns 0, a frame or decode
 * error, LP2P_ERR_TRUNCATED (the input ends inside a message) or
 * LP2P_ERR_TOO_LARGE (more messages than allowed).
 */
LP2P_API int lp2p_identify_read(const uint8_t *in, size_t len,
                                lp2p_identify *id);

/* What lp2p_identify_verify establishes about a decoded message. */
typedef struct lp2p_identify_verified {
  bool has_pubkey;
  lp2p_pubkey pubkey; /* publicKey, the connection peer's key */
  bool has_record;
  lp2p_peer_record record; /* views into the signed record's bytes */
  lp2p_envelope envelope;
  /* Why the signed peer record was refused (0 when it was absent or good):
   * an lp2p_peer_record_open error, or LP2P_ERR_PEER_ID_MISMATCH when it
   * is another peer's. The rest of the message is still usable, as
   * go-libp2p then falls back to the unsigned addresses. */
  int record_error;
} lp2p_identify_verified;

/*
 * Checks a decoded message against the peer the connection authenticated
 * (`peer`): publicKey, when present, must decode and be that peer's key;
 * the signed peer record, when present, must open and name that peer.
 * Returns 0, an lp2p_pubkey_unmarshal error, or LP2P_ERR_PEER_ID_MISMATCH
 * (a public key of another peer).
 */
LP2P_API int lp2p_identify_verify(const lp2p_identify *id,
                                  const lp2p_peer_id *peer,
                                  lp2p_identify_verified *out);

/* ==== ping ============================================================== */

/* ping's protocol id, payload size and default echo timeout. */
#define LP2P_PING_PROTOCOL_ID "/ipfs/ping/1.0.0"
#define LP2P_PING_SIZE 32
#define LP2P_PING_DEFAULT_TIMEOUT (10 * LP2P_SECONDS)
/* Echoes a listener holds for lp2p_ping_pull; a peer that sends more
 * before they are pulled is refused. */
#define LP2P_PING_MAX_BACKLOG 16
/* An inbound ping stream with no ping echoed for this long is reset (as
 * go-libp2p's ping handler, pingTimeout): a peer cannot park streams. */
#define LP2P_PING_IDLE_TIMEOUT (60 * LP2P_SECONDS)

/* One ping stream's state, either role. */
typedef struct lp2p_ping lp2p_ping;

/* Which side of the stream we are. */
typedef enum lp2p_ping_role {
  LP2P_PING_DIALER = 0,   /* sends payloads and times their echo */
  LP2P_PING_LISTENER = 1, /* echoes every payload */
} lp2p_ping_role;

/* A ping's settings (zero them for the defaults). */
typedef struct lp2p_ping_settings {
  lp2p_ping_role role;
  /* Time allowed for an echo; 0 = the default, LP2P_TSTAMP_NEVER = none. */
  lp2p_tstamp timeout;
  /* Draws the dialer's payloads; unused by a listener. */
  lp2p_rand_fn rand_fn;
  void *rand_user;
} lp2p_ping_settings;

/* A ping's hook. */
typedef struct lp2p_ping_callbacks {
  /* The echo of the last payload arrived, `rtt` after the payload was
   * pulled. May be NULL. */
  void (*pong)(lp2p_ping *p, lp2p_tstamp rtt, void *user);
} lp2p_ping_callbacks;

/* Returns 0, LP2P_ERR_NOMEM or LP2P_ERR_INVALID_ARG (an unknown role, or
 * a dialer without rand_fn). `cb` and `mem` may be NULL. */
LP2P_API int lp2p_ping_new(lp2p_ping **out, const lp2p_ping_settings *s,
                           const lp2p_ping_callbacks *cb, const lp2p_mem *mem,
                           void *user);
/* Frees the ping; NULL is a no-op. */
LP2P_API void lp2p_ping_del(lp2p_ping *p);
/* Dialer: queues a new random payload; its timeout runs from `now`.
 * Returns 0 or LP2P_ERR_STATE (a listener, a ping still outstanding, or a
 * failed ping). */
LP2P_API int lp2p_ping_start(lp2p_ping *p, lp2p_tstamp now);
/*
 * Feeds bytes from the stream, split anywhere. A dialer checks the echo
 * and calls pong; a listener queues an echo of every full payload.
 * Returns 0, or, failing the ping for good: LP2P_ERR_PROTOCOL (a wrong
 * echo, or bytes the dialer did not ask for), LP2P_ERR_TOO_LARGE (a
 * listener's backlog is full); LP2P_ERR_STATE on a failed ping.
 */
LP2P_API int lp2p_ping_recv(lp2p_ping *p, const uint8_t *in, size_t len,
                            lp2p_tstamp now);
/* The bytes to write on the stream: same contract as lp2p_noise_pull. */
LP2P_API ssize_t lp2p_ping_pull(lp2p_ping *p, const uint8_t **out,
                                lp2p_tstamp now);
/* The dialer's echo deadline, else LP2P_TSTAMP_NEVER. */
LP2P_API lp2p_tstamp lp2p_ping_expiry(const lp2p_ping *p);
/* Returns 0 (nothing due), LP2P_ERR_TIMEOUT (the echo did not come back
 * in time; the ping is failed) or LP2P_ERR_STATE (already failed). */
LP2P_API int lp2p_ping_handle_expiry(lp2p_ping *p, lp2p_tstamp now);

#ifdef __cplusplus
}
#endif

#endif /* LP2P_NOISE_H */
