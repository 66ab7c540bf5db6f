/* The libp2p TLS secure channel (libp2p/specs tls/tls.md), sans-IO: GnuTLS
 * runs TLS 1.3 over buffers through its push/pull transport functions;
 * ciphertext goes in with _recv and out with _pull, plaintext out with
 * _read and in with _write, as lp2p_noise. Used by lp2p_session for
 * /tls/1.0.0. */
#ifndef LP2P_NET_TLS_H
#define LP2P_NET_TLS_H

#include <stdbool.h>
#include <sys/types.h>

#include "lp2p/crypto.h"
#include "lp2p/tls.h"

typedef struct lp2p__tls lp2p__tls;

/* Most muxers offered in ALPN (before "libp2p"). */
#define LP2P__TLS_MAX_MUXERS 4

typedef struct lp2p__tls_settings {
  bool is_client;
  const lp2p_privkey *identity;       /* used only by _new */
  const lp2p_peer_id *remote_peer_id; /* a client's expected peer */
  const char *const *muxers;          /* ALPN, before "libp2p" */
  size_t nmuxers;
  int64_t unix_time; /* certificates: made and checked */
  size_t max_buffer; /* per direction, bytes */
  lp2p_rand_fn rand_fn;
  void *rand_user;
} lp2p__tls_settings;

/* The handshake authenticated the peer: `muxer` is the muxer ALPN agreed
 * (one of ours), NULL for "libp2p" or none. Non-zero fails the channel. */
typedef int (*lp2p__tls_done_fn)(void *user, const lp2p_peer_id *id,
                                 const lp2p_pubkey *key, const char *muxer);

/* Creates the channel; a client's ClientHello is ready to pull. Its
 * buffers come from `mem` (GnuTLS's own state from the C library). Returns 0,
 * LP2P_ERR_INVALID_ARG, LP2P_ERR_UNSUPPORTED (an identity that cannot
 * sign, or GnuTLS cannot be loaded: lp2p__tlslib_error), LP2P_ERR_NOMEM or
 * LP2P_ERR_CRYPTO. */
int lp2p__tls_new(lp2p__tls **out, const lp2p__tls_settings *s,
                  lp2p__tls_done_fn done, const lp2p_mem *mem, void *user);
void lp2p__tls_del(lp2p__tls *t);
/* Feeds ciphertext (at most _recv_room bytes). Returns 0 or the error
 * that failed the channel (explained by lp2p__tls_errmsg). */
int lp2p__tls_recv(lp2p__tls *t, const uint8_t *in, size_t len);
size_t lp2p__tls_recv_room(const lp2p__tls *t);
/* Decrypted bytes (0: none yet); valid until the next call. Returns an
 * error when a record fails. */
ssize_t lp2p__tls_read(lp2p__tls *t, const uint8_t **out);
/* Encrypts plaintext; returns how much was taken (less when the send
 * buffer is full) or an error. */
ssize_t lp2p__tls_write(lp2p__tls *t, const uint8_t *data, size_t len);
/* Ciphertext to send (0: none); valid until the next call. */
ssize_t lp2p__tls_pull(lp2p__tls *t, const uint8_t **out);
bool lp2p__tls_is_established(const lp2p__tls *t);
/* Why the channel failed ("" while it has not). */
const char *lp2p__tls_errmsg(const lp2p__tls *t);

#endif
