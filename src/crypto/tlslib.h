/* GnuTLS, nettle's hogweed, GMP, ngtcp2 and ngtcp2's GnuTLS crypto helper,
 * loaded with dlopen the first time TLS or QUIC is used, not linked: their
 * relocations and constructors alone cost every node about 2 MiB of
 * memory, and most nodes speak Noise over TCP only (as src/crypto/pkix.c
 * loads libcrypto). The five load together (GnuTLS needs the others
 * anyway), once per process; after a failure every use fails alike.
 *
 * A file that calls them includes this header after every header of
 * theirs: each function's name becomes its entry in the table below, so
 * calls read as the library's own. What loads the table:
 * lp2p__tls_cert_build and lp2p_tls_cert_verify (every TLS session and
 * QUIC endpoint makes or checks a certificate first), and
 * lp2p__quic_client_new / lp2p__quic_server_new (ngtcp2 is used before
 * the certificate). Anything else needs one of those to have succeeded. */
#ifndef LP2P_CRYPTO_TLSLIB_H
#define LP2P_CRYPTO_TLSLIB_H

#include <stdbool.h>

#include <gmp.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <nettle/bignum.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

/* The libraries, in the order they are loaded. */
typedef enum lp2p__tlslib_lib {
  LP2P__TLSLIB_GMP,
  LP2P__TLSLIB_HOGWEED,
  LP2P__TLSLIB_GNUTLS,
  LP2P__TLSLIB_NGTCP2,
  LP2P__TLSLIB_NGTCP2_CRYPTO,
  LP2P__TLSLIB_COUNT
} lp2p__tlslib_lib;

/* Every symbol used, X(library, symbol's name in the library);
 * gnutls_privkey_generate, gnutls_privkey_sign_data and
 * gnutls_pubkey_export only by tests/unit/test_tls_cert.c. A call left
 * out of this list (or of the names below) fails to link the command and
 * the tests. */
#define LP2P__TLSLIB_SYMBOLS(X)                                                \
  X(GNUTLS, gnutls_alert_get)                                                  \
  X(GNUTLS, gnutls_alert_get_name)                                             \
  X(GNUTLS, gnutls_alert_send_appropriate)                                     \
  X(GNUTLS, gnutls_alpn_get_selected_protocol)                                 \
  X(GNUTLS, gnutls_alpn_set_protocols)                                         \
  X(GNUTLS, gnutls_certificate_allocate_credentials)                           \
  X(GNUTLS, gnutls_certificate_free_credentials)                               \
  X(GNUTLS, gnutls_certificate_get_peers)                                      \
  X(GNUTLS, gnutls_certificate_server_set_request)                             \
  X(GNUTLS, gnutls_certificate_set_verify_function)                            \
  X(GNUTLS, gnutls_certificate_set_x509_key)                                   \
  X(GNUTLS, gnutls_credentials_set)                                            \
  X(GNUTLS, gnutls_deinit)                                                     \
  X(GNUTLS, gnutls_error_is_fatal)                                             \
  X(GNUTLS, gnutls_free)                                                       \
  X(GNUTLS, gnutls_handshake)                                                  \
  X(GNUTLS, gnutls_handshake_set_timeout)                                      \
  X(GNUTLS, gnutls_init)                                                       \
  X(GNUTLS, gnutls_memset)                                                     \
  X(GNUTLS, gnutls_priority_set_direct)                                        \
  X(GNUTLS, gnutls_privkey_deinit)                                             \
  X(GNUTLS, gnutls_privkey_generate)                                           \
  X(GNUTLS, gnutls_privkey_import_x509)                                        \
  X(GNUTLS, gnutls_privkey_init)                                               \
  X(GNUTLS, gnutls_privkey_sign_data)                                          \
  X(GNUTLS, gnutls_pubkey_deinit)                                              \
  X(GNUTLS, gnutls_pubkey_export)                                              \
  X(GNUTLS, gnutls_pubkey_export2)                                             \
  X(GNUTLS, gnutls_pubkey_import_privkey)                                      \
  X(GNUTLS, gnutls_pubkey_import_x509)                                         \
  X(GNUTLS, gnutls_pubkey_init)                                                \
  X(GNUTLS, gnutls_pubkey_verify_data2)                                        \
  X(GNUTLS, gnutls_record_recv)                                                \
  X(GNUTLS, gnutls_record_send)                                                \
  X(GNUTLS, gnutls_session_get_ptr)                                            \
  X(GNUTLS, gnutls_session_set_ptr)                                            \
  X(GNUTLS, gnutls_strerror)                                                   \
  X(GNUTLS, gnutls_transport_set_errno)                                        \
  X(GNUTLS, gnutls_transport_set_ptr)                                          \
  X(GNUTLS, gnutls_transport_set_pull_function)                                \
  X(GNUTLS, gnutls_transport_set_push_function)                                \
  X(GNUTLS, gnutls_x509_crt_deinit)                                            \
  X(GNUTLS, gnutls_x509_crt_export2)                                           \
  X(GNUTLS, gnutls_x509_crt_get_activation_time)                               \
  X(GNUTLS, gnutls_x509_crt_get_expiration_time)                               \
  X(GNUTLS, gnutls_x509_crt_get_extension_data2)                               \
  X(GNUTLS, gnutls_x509_crt_get_extension_info)                                \
  X(GNUTLS, gnutls_x509_crt_get_signature)                                     \
  X(GNUTLS, gnutls_x509_crt_get_signature_algorithm)                           \
  X(GNUTLS, gnutls_x509_crt_import)                                            \
  X(GNUTLS, gnutls_x509_crt_init)                                              \
  X(GNUTLS, gnutls_x509_crt_privkey_sign)                                      \
  X(GNUTLS, gnutls_x509_crt_set_activation_time)                               \
  X(GNUTLS, gnutls_x509_crt_set_dn_by_oid)                                     \
  X(GNUTLS, gnutls_x509_crt_set_expiration_time)                               \
  X(GNUTLS, gnutls_x509_crt_set_extension_by_oid)                              \
  X(GNUTLS, gnutls_x509_crt_set_key)                                           \
  X(GNUTLS, gnutls_x509_crt_set_serial)                                        \
  X(GNUTLS, gnutls_x509_crt_set_version)                                       \
  X(GNUTLS, gnutls_x509_privkey_deinit)                                        \
  X(GNUTLS, gnutls_x509_privkey_import_ecc_raw)                                \
  X(GNUTLS, gnutls_x509_privkey_init)                                          \
  X(HOGWEED, nettle_ecc_point_clear)                                           \
  X(HOGWEED, nettle_ecc_point_get)                                             \
  X(HOGWEED, nettle_ecc_point_init)                                            \
  X(HOGWEED, nettle_ecc_scalar_clear)                                          \
  X(HOGWEED, nettle_ecc_scalar_get)                                            \
  X(HOGWEED, nettle_ecc_scalar_init)                                           \
  X(HOGWEED, nettle_ecdsa_generate_keypair)                                    \
  X(HOGWEED, nettle_get_secp_256r1)                                            \
  X(HOGWEED, nettle_mpz_get_str_256)                                           \
  X(GMP, __gmpz_clears)                                                        \
  X(GMP, __gmpz_inits)                                                         \
  X(NGTCP2, ngtcp2_accept)                                                     \
  X(NGTCP2, ngtcp2_cid_init)                                                   \
  X(NGTCP2, ngtcp2_conn_client_new_versioned)                                  \
  X(NGTCP2, ngtcp2_conn_del)                                                   \
  X(NGTCP2, ngtcp2_conn_extend_max_offset)                                     \
  X(NGTCP2, ngtcp2_conn_extend_max_stream_offset)                              \
  X(NGTCP2, ngtcp2_conn_extend_max_streams_bidi)                               \
  X(NGTCP2, ngtcp2_conn_get_conn_stat_versioned)                               \
  X(NGTCP2, ngtcp2_conn_get_connection_close_error)                            \
  X(NGTCP2, ngtcp2_conn_get_expiry)                                            \
  X(NGTCP2, ngtcp2_conn_get_num_scid)                                          \
  X(NGTCP2, ngtcp2_conn_get_path)                                              \
  X(NGTCP2, ngtcp2_conn_get_pto)                                               \
  X(NGTCP2, ngtcp2_conn_get_scid)                                              \
  X(NGTCP2, ngtcp2_conn_get_tls_alert)                                         \
  X(NGTCP2, ngtcp2_conn_handle_expiry)                                         \
  X(NGTCP2, ngtcp2_conn_is_local_stream)                                       \
  X(NGTCP2, ngtcp2_conn_open_bidi_stream)                                      \
  X(NGTCP2, ngtcp2_conn_read_pkt_versioned)                                    \
  X(NGTCP2, ngtcp2_conn_server_new_versioned)                                  \
  X(NGTCP2, ngtcp2_conn_set_keep_alive_timeout)                                \
  X(NGTCP2, ngtcp2_conn_set_stream_user_data)                                  \
  X(NGTCP2, ngtcp2_conn_set_tls_native_handle)                                 \
  X(NGTCP2, ngtcp2_conn_shutdown_stream)                                       \
  X(NGTCP2, ngtcp2_conn_shutdown_stream_read)                                  \
  X(NGTCP2, ngtcp2_conn_write_connection_close_versioned)                      \
  X(NGTCP2, ngtcp2_conn_writev_stream_versioned)                               \
  X(NGTCP2, ngtcp2_connection_close_error_set_application_error)               \
  X(NGTCP2, ngtcp2_connection_close_error_set_transport_error_liberr)          \
  X(NGTCP2, ngtcp2_connection_close_error_set_transport_error_tls_alert)       \
  X(NGTCP2, ngtcp2_pkt_decode_version_cid)                                     \
  X(NGTCP2, ngtcp2_pkt_write_stateless_reset)                                  \
  X(NGTCP2, ngtcp2_pkt_write_version_negotiation)                              \
  X(NGTCP2, ngtcp2_settings_default_versioned)                                 \
  X(NGTCP2, ngtcp2_strerror)                                                   \
  X(NGTCP2, ngtcp2_transport_params_default_versioned)                         \
  X(NGTCP2_CRYPTO, ngtcp2_crypto_client_initial_cb)                            \
  X(NGTCP2_CRYPTO, ngtcp2_crypto_decrypt_cb)                                   \
  X(NGTCP2_CRYPTO, ngtcp2_crypto_delete_crypto_aead_ctx_cb)                    \
  X(NGTCP2_CRYPTO, ngtcp2_crypto_delete_crypto_cipher_ctx_cb)                  \
  X(NGTCP2_CRYPTO, ngtcp2_crypto_encrypt_cb)                                   \
  X(NGTCP2_CRYPTO, ngtcp2_crypto_generate_retry_token)                         \
  X(NGTCP2_CRYPTO, ngtcp2_crypto_generate_stateless_reset_token)               \
  X(NGTCP2_CRYPTO, ngtcp2_crypto_gnutls_configure_client_session)              \
  X(NGTCP2_CRYPTO, ngtcp2_crypto_gnutls_configure_server_session)              \
  X(NGTCP2_CRYPTO, ngtcp2_crypto_hp_mask_cb)                                   \
  X(NGTCP2_CRYPTO, ngtcp2_crypto_recv_client_initial_cb)                       \
  X(NGTCP2_CRYPTO, ngtcp2_crypto_recv_crypto_data_cb)                          \
  X(NGTCP2_CRYPTO, ngtcp2_crypto_recv_retry_cb)                                \
  X(NGTCP2_CRYPTO, ngtcp2_crypto_update_key_cb)                                \
  X(NGTCP2_CRYPTO, ngtcp2_crypto_verify_retry_token)                           \
  X(NGTCP2_CRYPTO, ngtcp2_crypto_version_negotiation_cb)                       \
  X(NGTCP2_CRYPTO, ngtcp2_crypto_write_connection_close)                       \
  X(NGTCP2_CRYPTO, ngtcp2_crypto_write_retry)

#define LP2P__TLSLIB_FIELD(lib, name) __typeof__(&name) name;
typedef struct lp2p__tlslib_table {
  LP2P__TLSLIB_SYMBOLS(LP2P__TLSLIB_FIELD)
} lp2p__tlslib_table;
#undef LP2P__TLSLIB_FIELD

/* Filled by lp2p__tlslib_load; read-only afterwards. */
extern lp2p__tlslib_table lp2p__tlslib;

/* Loads the libraries and resolves every symbol, once (thread-safe).
 * Returns 0, or LP2P_ERR_UNSUPPORTED when one is missing or lacks a
 * symbol (lp2p__tlslib_error says which), now and on every later call. */
int lp2p__tlslib_load(void);
/* Why loading failed, naming the library ("" before a load and after one
 * that succeeded). */
const char *lp2p__tlslib_error(void);
/* Tests only: loads `soname` in place of library `lib`'s (before the
 * first load; NULL restores it). */
void lp2p__tlslib_set_soname(lp2p__tlslib_lib lib, const char *soname);

/* ngtcp2's crypto callbacks go into static const callback tables, which
 * need addresses known at link time: these forward to the table. */
extern __typeof__(ngtcp2_crypto_client_initial_cb) lp2p__tlslib_client_initial;
extern __typeof__(ngtcp2_crypto_recv_client_initial_cb)
    lp2p__tlslib_recv_client_initial;
extern __typeof__(ngtcp2_crypto_recv_crypto_data_cb)
    lp2p__tlslib_recv_crypto_data;
extern __typeof__(ngtcp2_crypto_encrypt_cb) lp2p__tlslib_encrypt;
extern __typeof__(ngtcp2_crypto_decrypt_cb) lp2p__tlslib_decrypt;
extern __typeof__(ngtcp2_crypto_hp_mask_cb) lp2p__tlslib_hp_mask;
extern __typeof__(ngtcp2_crypto_recv_retry_cb) lp2p__tlslib_recv_retry;
extern __typeof__(ngtcp2_crypto_update_key_cb) lp2p__tlslib_update_key;
extern __typeof__(ngtcp2_crypto_delete_crypto_aead_ctx_cb)
    lp2p__tlslib_delete_crypto_aead_ctx;
extern __typeof__(ngtcp2_crypto_delete_crypto_cipher_ctx_cb)
    lp2p__tlslib_delete_crypto_cipher_ctx;
extern __typeof__(ngtcp2_crypto_version_negotiation_cb)
    lp2p__tlslib_version_negotiation;

/* src/crypto/tlslib.c itself names the real symbols. */
#ifndef LP2P__TLSLIB_IMPL

#define ngtcp2_crypto_client_initial_cb lp2p__tlslib_client_initial
#define ngtcp2_crypto_recv_client_initial_cb lp2p__tlslib_recv_client_initial
#define ngtcp2_crypto_recv_crypto_data_cb lp2p__tlslib_recv_crypto_data
#define ngtcp2_crypto_encrypt_cb lp2p__tlslib_encrypt
#define ngtcp2_crypto_decrypt_cb lp2p__tlslib_decrypt
#define ngtcp2_crypto_hp_mask_cb lp2p__tlslib_hp_mask
#define ngtcp2_crypto_recv_retry_cb lp2p__tlslib_recv_retry
#define ngtcp2_crypto_update_key_cb lp2p__tlslib_update_key
#define ngtcp2_crypto_delete_crypto_aead_ctx_cb                                \
  lp2p__tlslib_delete_crypto_aead_ctx
#define ngtcp2_crypto_delete_crypto_cipher_ctx_cb                              \
  lp2p__tlslib_delete_crypto_cipher_ctx
#define ngtcp2_crypto_version_negotiation_cb lp2p__tlslib_version_negotiation

/* gnutls_free is a variable (a pointer to the allocator's free), and
 * gmp.h's and nettle's names are macros over the exported ones */
#undef gnutls_free
#define gnutls_free(a) ((*lp2p__tlslib.gnutls_free)((void *)(a)), (a) = NULL)
#undef mpz_inits
#define mpz_inits lp2p__tlslib.__gmpz_inits
#undef mpz_clears
#define mpz_clears lp2p__tlslib.__gmpz_clears

#define gnutls_alert_get lp2p__tlslib.gnutls_alert_get
#define gnutls_alert_get_name lp2p__tlslib.gnutls_alert_get_name
#define gnutls_alert_send_appropriate lp2p__tlslib.gnutls_alert_send_appropriate
#define gnutls_alpn_get_selected_protocol                                      \
  lp2p__tlslib.gnutls_alpn_get_selected_protocol
#define gnutls_alpn_set_protocols lp2p__tlslib.gnutls_alpn_set_protocols
#define gnutls_certificate_allocate_credentials                                \
  lp2p__tlslib.gnutls_certificate_allocate_credentials
#define gnutls_certificate_free_credentials                                    \
  lp2p__tlslib.gnutls_certificate_free_credentials
#define gnutls_certificate_get_peers lp2p__tlslib.gnutls_certificate_get_peers
#define gnutls_certificate_server_set_request                                  \
  lp2p__tlslib.gnutls_certificate_server_set_request
#define gnutls_certificate_set_verify_function                                 \
  lp2p__tlslib.gnutls_certificate_set_verify_function
#define gnutls_certificate_set_x509_key                                        \
  lp2p__tlslib.gnutls_certificate_set_x509_key
#define gnutls_credentials_set lp2p__tlslib.gnutls_credentials_set
#define gnutls_deinit lp2p__tlslib.gnutls_deinit
#define gnutls_error_is_fatal lp2p__tlslib.gnutls_error_is_fatal
#define gnutls_handshake lp2p__tlslib.gnutls_handshake
#define gnutls_handshake_set_timeout lp2p__tlslib.gnutls_handshake_set_timeout
#define gnutls_init lp2p__tlslib.gnutls_init
#define gnutls_memset lp2p__tlslib.gnutls_memset
#define gnutls_priority_set_direct lp2p__tlslib.gnutls_priority_set_direct
#define gnutls_privkey_deinit lp2p__tlslib.gnutls_privkey_deinit
#define gnutls_privkey_generate lp2p__tlslib.gnutls_privkey_generate
#define gnutls_privkey_import_x509 lp2p__tlslib.gnutls_privkey_import_x509
#define gnutls_privkey_init lp2p__tlslib.gnutls_privkey_init
#define gnutls_privkey_sign_data lp2p__tlslib.gnutls_privkey_sign_data
#define gnutls_pubkey_deinit lp2p__tlslib.gnutls_pubkey_deinit
#define gnutls_pubkey_export lp2p__tlslib.gnutls_pubkey_export
#define gnutls_pubkey_export2 lp2p__tlslib.gnutls_pubkey_export2
#define gnutls_pubkey_import_privkey lp2p__tlslib.gnutls_pubkey_import_privkey
#define gnutls_pubkey_import_x509 lp2p__tlslib.gnutls_pubkey_import_x509
#define gnutls_pubkey_init lp2p__tlslib.gnutls_pubkey_init
#define gnutls_pubkey_verify_data2 lp2p__tlslib.gnutls_pubkey_verify_data2
#define gnutls_record_recv lp2p__tlslib.gnutls_record_recv
#define gnutls_record_send lp2p__tlslib.gnutls_record_send
#define gnutls_session_get_ptr lp2p__tlslib.gnutls_session_get_ptr
#define gnutls_session_set_ptr lp2p__tlslib.gnutls_session_set_ptr
#define gnutls_strerror lp2p__tlslib.gnutls_strerror
#define gnutls_transport_set_errno lp2p__tlslib.gnutls_transport_set_errno
#define gnutls_transport_set_ptr lp2p__tlslib.gnutls_transport_set_ptr
#define gnutls_transport_set_pull_function                                     \
  lp2p__tlslib.gnutls_transport_set_pull_function
#define gnutls_transport_set_push_function                                     \
  lp2p__tlslib.gnutls_transport_set_push_function
#define gnutls_x509_crt_deinit lp2p__tlslib.gnutls_x509_crt_deinit
#define gnutls_x509_crt_export2 lp2p__tlslib.gnutls_x509_crt_export2
#define gnutls_x509_crt_get_activation_time                                    \
  lp2p__tlslib.gnutls_x509_crt_get_activation_time
#define gnutls_x509_crt_get_expiration_time                                    \
  lp2p__tlslib.gnutls_x509_crt_get_expiration_time
#define gnutls_x509_crt_get_extension_data2                                    \
  lp2p__tlslib.gnutls_x509_crt_get_extension_data2
#define gnutls_x509_crt_get_extension_info                                     \
  lp2p__tlslib.gnutls_x509_crt_get_extension_info
#define gnutls_x509_crt_get_signature lp2p__tlslib.gnutls_x509_crt_get_signature
#define gnutls_x509_crt_get_signature_algorithm                                \
  lp2p__tlslib.gnutls_x509_crt_get_signature_algorithm
#define gnutls_x509_crt_import lp2p__tlslib.gnutls_x509_crt_import
#define gnutls_x509_crt_init lp2p__tlslib.gnutls_x509_crt_init
#define gnutls_x509_crt_privkey_sign lp2p__tlslib.gnutls_x509_crt_privkey_sign
#define gnutls_x509_crt_set_activation_time                                    \
  lp2p__tlslib.gnutls_x509_crt_set_activation_time
#define gnutls_x509_crt_set_dn_by_oid lp2p__tlslib.gnutls_x509_crt_set_dn_by_oid
#define gnutls_x509_crt_set_expiration_time                                    \
  lp2p__tlslib.gnutls_x509_crt_set_expiration_time
#define gnutls_x509_crt_set_extension_by_oid                                   \
  lp2p__tlslib.gnutls_x509_crt_set_extension_by_oid
#define gnutls_x509_crt_set_key lp2p__tlslib.gnutls_x509_crt_set_key
#define gnutls_x509_crt_set_serial lp2p__tlslib.gnutls_x509_crt_set_serial
#define gnutls_x509_crt_set_version lp2p__tlslib.gnutls_x509_crt_set_version
#define gnutls_x509_privkey_deinit lp2p__tlslib.gnutls_x509_privkey_deinit
#define gnutls_x509_privkey_import_ecc_raw                                     \
  lp2p__tlslib.gnutls_x509_privkey_import_ecc_raw
#define gnutls_x509_privkey_init lp2p__tlslib.gnutls_x509_privkey_init
#define nettle_ecc_point_clear lp2p__tlslib.nettle_ecc_point_clear
#define nettle_ecc_point_get lp2p__tlslib.nettle_ecc_point_get
#define nettle_ecc_point_init lp2p__tlslib.nettle_ecc_point_init
#define nettle_ecc_scalar_clear lp2p__tlslib.nettle_ecc_scalar_clear
#define nettle_ecc_scalar_get lp2p__tlslib.nettle_ecc_scalar_get
#define nettle_ecc_scalar_init lp2p__tlslib.nettle_ecc_scalar_init
#define nettle_ecdsa_generate_keypair lp2p__tlslib.nettle_ecdsa_generate_keypair
#define nettle_get_secp_256r1 lp2p__tlslib.nettle_get_secp_256r1
#define nettle_mpz_get_str_256 lp2p__tlslib.nettle_mpz_get_str_256
#define ngtcp2_accept lp2p__tlslib.ngtcp2_accept
#define ngtcp2_cid_init lp2p__tlslib.ngtcp2_cid_init
#define ngtcp2_conn_client_new_versioned                                       \
  lp2p__tlslib.ngtcp2_conn_client_new_versioned
#define ngtcp2_conn_del lp2p__tlslib.ngtcp2_conn_del
#define ngtcp2_conn_extend_max_offset lp2p__tlslib.ngtcp2_conn_extend_max_offset
#define ngtcp2_conn_extend_max_stream_offset                                   \
  lp2p__tlslib.ngtcp2_conn_extend_max_stream_offset
#define ngtcp2_conn_extend_max_streams_bidi                                    \
  lp2p__tlslib.ngtcp2_conn_extend_max_streams_bidi
#define ngtcp2_conn_get_conn_stat_versioned                                    \
  lp2p__tlslib.ngtcp2_conn_get_conn_stat_versioned
#define ngtcp2_conn_get_connection_close_error                                 \
  lp2p__tlslib.ngtcp2_conn_get_connection_close_error
#define ngtcp2_conn_get_expiry lp2p__tlslib.ngtcp2_conn_get_expiry
#define ngtcp2_conn_get_num_scid lp2p__tlslib.ngtcp2_conn_get_num_scid
#define ngtcp2_conn_get_path lp2p__tlslib.ngtcp2_conn_get_path
#define ngtcp2_conn_get_pto lp2p__tlslib.ngtcp2_conn_get_pto
#define ngtcp2_conn_get_scid lp2p__tlslib.ngtcp2_conn_get_scid
#define ngtcp2_conn_get_tls_alert lp2p__tlslib.ngtcp2_conn_get_tls_alert
#define ngtcp2_conn_handle_expiry lp2p__tlslib.ngtcp2_conn_handle_expiry
#define ngtcp2_conn_is_local_stream lp2p__tlslib.ngtcp2_conn_is_local_stream
#define ngtcp2_conn_open_bidi_stream lp2p__tlslib.ngtcp2_conn_open_bidi_stream
#define ngtcp2_conn_read_pkt_versioned                                         \
  lp2p__tlslib.ngtcp2_conn_read_pkt_versioned
#define ngtcp2_conn_server_new_versioned                                       \
  lp2p__tlslib.ngtcp2_conn_server_new_versioned
#define ngtcp2_conn_set_keep_alive_timeout                                     \
  lp2p__tlslib.ngtcp2_conn_set_keep_alive_timeout
#define ngtcp2_conn_set_stream_user_data                                       \
  lp2p__tlslib.ngtcp2_conn_set_stream_user_data
#define ngtcp2_conn_set_tls_native_handle                                      \
  lp2p__tlslib.ngtcp2_conn_set_tls_native_handle
#define ngtcp2_conn_shutdown_stream lp2p__tlslib.ngtcp2_conn_shutdown_stream
#define ngtcp2_conn_shutdown_stream_read                                       \
  lp2p__tlslib.ngtcp2_conn_shutdown_stream_read
#define ngtcp2_conn_write_connection_close_versioned                           \
  lp2p__tlslib.ngtcp2_conn_write_connection_close_versioned
#define ngtcp2_conn_writev_stream_versioned                                    \
  lp2p__tlslib.ngtcp2_conn_writev_stream_versioned
#define ngtcp2_connection_close_error_set_application_error                    \
  lp2p__tlslib.ngtcp2_connection_close_error_set_application_error
#define ngtcp2_connection_close_error_set_transport_error_liberr               \
  lp2p__tlslib.ngtcp2_connection_close_error_set_transport_error_liberr
#define ngtcp2_connection_close_error_set_transport_error_tls_alert            \
  lp2p__tlslib.ngtcp2_connection_close_error_set_transport_error_tls_alert
#define ngtcp2_pkt_decode_version_cid lp2p__tlslib.ngtcp2_pkt_decode_version_cid
#define ngtcp2_pkt_write_stateless_reset                                       \
  lp2p__tlslib.ngtcp2_pkt_write_stateless_reset
#define ngtcp2_pkt_write_version_negotiation                                   \
  lp2p__tlslib.ngtcp2_pkt_write_version_negotiation
#define ngtcp2_settings_default_versioned                                      \
  lp2p__tlslib.ngtcp2_settings_default_versioned
#define ngtcp2_strerror lp2p__tlslib.ngtcp2_strerror
#define ngtcp2_transport_params_default_versioned                              \
  lp2p__tlslib.ngtcp2_transport_params_default_versioned
#define ngtcp2_crypto_generate_retry_token                                     \
  lp2p__tlslib.ngtcp2_crypto_generate_retry_token
#define ngtcp2_crypto_generate_stateless_reset_token                           \
  lp2p__tlslib.ngtcp2_crypto_generate_stateless_reset_token
#define ngtcp2_crypto_gnutls_configure_client_session                          \
  lp2p__tlslib.ngtcp2_crypto_gnutls_configure_client_session
#define ngtcp2_crypto_gnutls_configure_server_session                          \
  lp2p__tlslib.ngtcp2_crypto_gnutls_configure_server_session
#define ngtcp2_crypto_verify_retry_token                                       \
  lp2p__tlslib.ngtcp2_crypto_verify_retry_token
#define ngtcp2_crypto_write_connection_close                                   \
  lp2p__tlslib.ngtcp2_crypto_write_connection_close
#define ngtcp2_crypto_write_retry lp2p__tlslib.ngtcp2_crypto_write_retry

#endif /* LP2P__TLSLIB_IMPL */

#endif
