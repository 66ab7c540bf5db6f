/* GnuTLS and ngtcp2 are loaded the first time TLS or QUIC is used
 * (src/crypto/tlslib.c): a node that speaks Noise over TCP never maps
 * them; a QUIC or TLS connection loads them and works; a missing library
 * fails TLS with an error that names it. The tests run in this order in
 * one process: the first needs nothing loaded yet. */
#include "testutil.h"
#include "testutil_host.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/tlslib.h"
#include "lp2p/tls.h"

/* Whether a library whose file name starts with `name` is mapped. */
static bool mapped(const char *name) {
  FILE *f = fopen("/proc/self/maps", "r");
  assert_non_null(f);
  char line[4096];
  bool found = false;
  while (!found && fgets(line, sizeof(line), f)) {
    const char *file = strrchr(line, '/');
    found = file && strncmp(file + 1, name, strlen(name)) == 0;
  }
  fclose(f);
  return found;
}

typedef th_pair pair;

typedef struct ping_result {
  bool done;
  int err;
} ping_result;

static void on_ping(lp2p_conn *c, lp2p_tstamp rtt, int err, void *user) {
  (void)c;
  (void)rtt;
  ping_result *r = user;
  r->done = true;
  r->err = err;
}

static bool ping_done(void *arg) {
  return ((ping_result *)arg)->done;
}

/* a listens on `addr` taking `security`, b (offering both, Noise first)
 * dials it; both identify, and a ping goes round. */
static void pair_connect_ping(pair *p, const char *addr,
                              lp2p_security security) {
  th_node_init(&p->a, 1, LP2P_KEY_ED25519);
  th_node_init(&p->b, 2, LP2P_KEY_ED25519);
  p->a.settings.security = security;
  th_node_start(&p->a);
  th_node_start(&p->b);
  th_node_listen_on(&p->a, addr);
  th_dial_start(&p->b, &p->a, &p->dial);
  th_run_until(th_dial_done, &p->dial, 5000);
  if (p->dial.err != 0) {
    fail_msg("dial failed: %s: %s", lp2p_strerror(p->dial.err), p->dial.msg);
  }
  th_run_until(th_pair_identified, p, 5000);
  ping_result ping = {0};
  assert_int_equal(lp2p_conn_ping(p->dial.conn, on_ping, &ping), 0);
  th_run_until(ping_done, &ping, 5000);
  assert_int_equal(ping.err, 0);
}

static void pair_close(pair *p) {
  th_node_close(&p->b);
  th_node_close(&p->a);
}

static void assert_security(const pair *p, const char *want) {
  lp2p_conn_info info;
  lp2p_conn_info_get(p->dial.conn, &info);
  assert_string_equal(info.security, want);
}

static void tcp_noise_node_never_maps_gnutls_or_ngtcp2(void **state) {
  (void)state;
#ifdef LP2P_TLSLIB_LINKED
  skip(); /* a sanitized build links them (CMakeLists.txt) */
#endif
  pair p;
  /* the listener offers TLS too: only a peer picking it would load it */
  pair_connect_ping(&p, "/ip4/127.0.0.1/tcp/0", LP2P_SECURITY_ALL);
  assert_security(&p, LP2P_NOISE_PROTOCOL_ID);
  pair_close(&p);
  assert_false(mapped("libgnutls.so"));
  assert_false(mapped("libngtcp2"));
  assert_false(mapped("libhogweed.so"));
}

static void quic_connection_loads_ngtcp2_and_gnutls(void **state) {
  (void)state;
  pair p;
  pair_connect_ping(&p, "/ip4/127.0.0.1/udp/0/quic-v1", LP2P_SECURITY_ALL);
  assert_true(mapped("libngtcp2.so"));
  assert_true(mapped("libngtcp2_crypto_gnutls.so"));
  assert_true(mapped("libgnutls.so"));
  pair_close(&p);
}

static void tls_connection_works_once_loaded(void **state) {
  (void)state;
  pair p;
  pair_connect_ping(&p, "/ip4/127.0.0.1/tcp/0", LP2P_SECURITY_TLS);
  assert_security(&p, LP2P_TLS_PROTOCOL_ID);
  assert_true(mapped("libgnutls.so"));
  pair_close(&p);
}

/* ---- a library missing -------------------------------------------------- */

#define MISSING_GNUTLS "libgnutls-missing.so.99"

typedef struct missing_result {
  int cert_rv, verify_rv, again_rv, dial_rv, listen_rv;
  bool gnutls_mapped;
  char load_error[256];
  char verify_why[sizeof(((lp2p_errdetail *)0)->msg)];
  char dial_why[160];
  char listen_why[sizeof(((lp2p_errdetail *)0)->msg)];
} missing_result;

/* Over TCP, a dial to a host that takes only TLS, then a QUIC listen
 * address on the dialer: each fails naming the library. (A failed
 * assertion here fails the parent: the child never writes its result.) */
static void host_without_gnutls(missing_result *r) {
  th_loop_init();
  th_node a, b;
  th_node_init(&a, 1, LP2P_KEY_ED25519);
  th_node_init(&b, 2, LP2P_KEY_ED25519);
  a.settings.security = LP2P_SECURITY_TLS;
  th_node_start(&a);
  th_node_start(&b);
  th_node_listen(&a);
  th_dial d;
  th_dial_start(&b, &a, &d);
  th_run_until(th_dial_done, &d, 5000);
  r->dial_rv = d.err;
  snprintf(r->dial_why, sizeof(r->dial_why), "%s", d.msg);
  lp2p_buf ma;
  lp2p_buf_init(&ma, NULL);
  assert_int_equal(
      lp2p_multiaddr_parse("/ip4/127.0.0.1/udp/0/quic-v1", &ma, NULL), 0);
  lp2p_errdetail why = {{0}};
  r->listen_rv = lp2p_host_listen(b.host, ma.data, ma.len, &why);
  snprintf(r->listen_why, sizeof(r->listen_why), "%s", why.msg);
  lp2p_buf_free(&ma);
}

/* In a child process (a process loads once, for good): what making and
 * checking a certificate, a second load and a host return. */
static void try_without_gnutls(missing_result *r) {
  lp2p__tlslib_set_soname(LP2P__TLSLIB_GNUTLS, MISSING_GNUTLS);
  uint8_t seed[32] = {1};
  lp2p_privkey key;
  if (lp2p_privkey_from_seed(LP2P_KEY_ED25519, seed, &key) != 0) {
    return;
  }
  uint64_t rng = 1;
  lp2p_tls_cert *cert = NULL;
  r->cert_rv = lp2p_tls_cert_new(&cert, &key, 1800000000, test_rand, &rng);
  lp2p_tls_cert_del(cert);
  uint8_t der[8] = {0x30, 0x03, 0x02, 0x01, 0x01};
  lp2p_bytes b = {der, 5};
  lp2p_errdetail why = {{0}};
  r->verify_rv =
      lp2p_tls_cert_verify(&b, 1, 1800000000, NULL, NULL, NULL, &why);
  snprintf(r->verify_why, sizeof(r->verify_why), "%s", why.msg);
  snprintf(r->load_error, sizeof(r->load_error), "%s", lp2p__tlslib_error());
  r->again_rv = lp2p__tlslib_load();
  host_without_gnutls(r);
  r->gnutls_mapped = mapped("libgnutls");
}

static void missing_gnutls_fails_tls_naming_the_library(void **state) {
  (void)state;
#ifdef LP2P_TLSLIB_LINKED
  skip(); /* a sanitized build links them (CMakeLists.txt) */
#endif
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    missing_result r = {0};
    try_without_gnutls(&r);
    _exit(write(fds[1], &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
  }
  close(fds[1]);
  missing_result r = {0};
  assert_int_equal(read(fds[0], &r, sizeof(r)), (ssize_t)sizeof(r));
  close(fds[0]);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  assert_int_equal(r.cert_rv, LP2P_ERR_UNSUPPORTED);
  assert_int_equal(r.verify_rv, LP2P_ERR_UNSUPPORTED);
  assert_int_equal(r.again_rv, LP2P_ERR_UNSUPPORTED);
  const char *want = MISSING_GNUTLS " not found: TLS and QUIC need GnuTLS";
  assert_non_null(strstr(r.load_error, want));
  assert_non_null(strstr(r.verify_why, want));
  assert_int_not_equal(r.dial_rv, 0);
  assert_non_null(strstr(r.dial_why, want));
  assert_int_equal(r.listen_rv, LP2P_ERR_UNSUPPORTED);
  assert_non_null(strstr(r.listen_why, want));
  assert_false(r.gnutls_mapped);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(
          tcp_noise_node_never_maps_gnutls_or_ngtcp2, th_setup, th_teardown),
      cmocka_unit_test(missing_gnutls_fails_tls_naming_the_library),
      cmocka_unit_test_setup_teardown(quic_connection_loads_ngtcp2_and_gnutls,
                                      th_setup, th_teardown),
      cmocka_unit_test_setup_teardown(tls_connection_works_once_loaded,
                                      th_setup, th_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
