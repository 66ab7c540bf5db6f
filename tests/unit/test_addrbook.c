/* The node's address book (src/host/addrbook.c): what it keeps of a peer's
 * addresses, its three bounds (addresses per peer, peers, TTL) each one
 * past its limit, and go's identify filter of reported listen addresses. */
#include "testutil.h"

#include "host/addrbook.h"

#define T0 (1000 * LP2P_SECONDS)

static lp2p_peer_id peer(unsigned i) {
  lp2p_peer_id id;
  memset(&id, 0, sizeof(id));
  id.len = 34;
  id.bytes[0] = 0x12; /* sha2-256 */
  id.bytes[1] = 32;
  id.bytes[2] = (uint8_t)i;
  id.bytes[3] = (uint8_t)(i >> 8);
  return id;
}

/* The binary form of `text` (kept in a static ring so that two may be
 * used at once). */
static lp2p_buf *ma(const char *text) {
  static lp2p_buf ring[4];
  static unsigned next;
  lp2p_buf *b = &ring[next++ % 4];
  lp2p_buf_free(b);
  lp2p_buf_init(b, NULL);
  assert_int_equal(lp2p_multiaddr_parse(text, b, NULL), 0);
  return b;
}

static int add(lp2p__addrbook *b, unsigned who, const char *text,
               lp2p_tstamp now) {
  lp2p_peer_id id = peer(who);
  lp2p_buf *m = ma(text);
  return lp2p__addrbook_add(b, &id, m->data, m->len, now);
}

static size_t count(lp2p__addrbook *b, unsigned who, lp2p_tstamp now) {
  lp2p_peer_id id = peer(who);
  size_t n;
  (void)lp2p__addrbook_lookup(b, &id, now, &n);
  return n;
}

static bool has(lp2p__addrbook *b, unsigned who, const char *text,
                lp2p_tstamp now) {
  lp2p_peer_id id = peer(who);
  lp2p_buf *m = ma(text);
  size_t n;
  const lp2p__addrbook_addr *a = lp2p__addrbook_lookup(b, &id, now, &n);
  for (size_t i = 0; i < n; i++) {
    if (a[i].len == m->len && memcmp(a[i].bytes, m->data, m->len) == 0) {
      return true;
    }
  }
  return false;
}

static void addr_is_kept_without_its_p2p_component(void **state) {
  (void)state;
  lp2p__addrbook b;
  lp2p__addrbook_init(&b, 4, LP2P_ADDRBOOK_TTL, NULL);
  lp2p_peer_id id = peer(1);
  char text[200], b58[100];
  assert_true(lp2p_peer_id_to_base58(&id, b58, sizeof(b58)) > 0);
  snprintf(text, sizeof(text), "/ip4/1.2.3.4/tcp/4001/p2p/%s", b58);
  assert_int_equal(add(&b, 1, text, T0), 0);
  assert_int_equal(add(&b, 1, "/ip6/2001:db8::1/tcp/4001", T0), 0);
  assert_int_equal(add(&b, 1, "/ip4/1.2.3.4/tcp/4001", T0), 0); /* again */
  assert_int_equal(count(&b, 1, T0), 2);
  assert_true(has(&b, 1, "/ip4/1.2.3.4/tcp/4001", T0));
  assert_true(has(&b, 1, "/ip6/2001:db8::1/tcp/4001", T0));
  assert_int_equal(count(&b, 2, T0), 0);
  lp2p__addrbook_free(&b);
}

/* QUIC v1 addresses are kept as TCP ones are: PX entries without a record
 * are dialled over QUIC from the book, as go's peerstore keeps them. */
static void quic_v1_addr_is_kept_as_tcp_ones_are(void **state) {
  (void)state;
  lp2p__addrbook b;
  lp2p__addrbook_init(&b, 4, LP2P_ADDRBOOK_TTL, NULL);
  lp2p_peer_id id = peer(1);
  char text[200], b58[100];
  assert_true(lp2p_peer_id_to_base58(&id, b58, sizeof(b58)) > 0);
  /* the longest address the book keeps: ip6 and quic-v1 */
  snprintf(text, sizeof(text),
           "/ip6/2001:db8::1:2:3:4:5/udp/65535/quic-v1/p2p/%s", b58);
  assert_int_equal(add(&b, 1, text, T0), 0);
  assert_int_equal(add(&b, 1, "/ip4/1.2.3.4/udp/4001/quic-v1", T0), 0);
  assert_int_equal(add(&b, 1, "/ip4/1.2.3.4/tcp/4001", T0), 0);
  assert_int_equal(count(&b, 1, T0), 3);
  assert_true(has(&b, 1, "/ip6/2001:db8::1:2:3:4:5/udp/65535/quic-v1", T0));
  assert_true(has(&b, 1, "/ip4/1.2.3.4/udp/4001/quic-v1", T0));
  assert_true(has(&b, 1, "/ip4/1.2.3.4/tcp/4001", T0));
  assert_int_equal(b.st.addrs_rejected, 0);
  lp2p__addrbook_free(&b);
}

static bool is_quic(const char *text) {
  lp2p_buf *m = ma(text);
  return lp2p__addrbook_is_quic(m->data, m->len);
}

static void quic_addrs_rank_before_tcp_as_go(void **state) {
  (void)state;
  assert_true(is_quic("/ip4/1.2.3.4/udp/4001/quic-v1"));
  assert_true(is_quic("/ip6/::1/udp/4001/quic-v1"));
  assert_false(is_quic("/ip4/1.2.3.4/tcp/4001"));
  assert_false(is_quic("/ip4/1.2.3.4/udp/4001"));
  assert_false(is_quic("/dns4/example.com/udp/4001/quic-v1"));
}

static void undialable_addrs_are_rejected_and_counted(void **state) {
  (void)state;
  lp2p__addrbook b;
  lp2p__addrbook_init(&b, 4, LP2P_ADDRBOOK_TTL, NULL);
  lp2p_peer_id other = peer(2);
  char text[200], b58[100];
  assert_true(lp2p_peer_id_to_base58(&other, b58, sizeof(b58)) > 0);
  snprintf(text, sizeof(text), "/ip4/1.2.3.4/tcp/4001/p2p/%s", b58);
  const char *bad[] = {
      "/ip4/1.2.3.4/udp/4001",
      "/ip4/1.2.3.4/udp/0/quic-v1",
      "/ip4/0.0.0.0/udp/4001/quic-v1",
      "/ip4/1.2.3.4/tcp/4001/quic-v1",
      "/ip4/1.2.3.4/udp/4001/quic-v1/quic-v1",
      "/dns4/example.com/tcp/4001",
      "/ip4/0.0.0.0/tcp/4001",
      "/ip6/::/tcp/4001",
      "/ip4/1.2.3.4/tcp/0",
      "/ip4/1.2.3.4/tcp/1/tcp/2",
      text, /* names another peer */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(add(&b, 1, bad[i], T0), LP2P_ERR_UNSUPPORTED);
  }
  assert_int_equal(b.st.addrs_rejected, sizeof(bad) / sizeof(bad[0]));
  assert_int_equal(b.npeers, 0);
  lp2p__addrbook_free(&b);
}

static void ninth_addr_replaces_the_soonest_to_expire(void **state) {
  (void)state;
  lp2p__addrbook b;
  lp2p__addrbook_init(&b, 4, LP2P_ADDRBOOK_TTL, NULL);
  char text[64];
  for (unsigned i = 0; i < LP2P_ADDRBOOK_MAX_ADDRS; i++) {
    snprintf(text, sizeof(text), "/ip4/1.2.3.%u/tcp/4001", i + 1);
    assert_int_equal(add(&b, 1, text, T0 + i * LP2P_SECONDS), 0);
  }
  assert_int_equal(b.st.addrs_replaced, 0);
  assert_int_equal(count(&b, 1, T0 + 10 * LP2P_SECONDS), 8);
  /* 1.2.3.1, the oldest, is refreshed: 1.2.3.2 is now the soonest */
  assert_int_equal(add(&b, 1, "/ip4/1.2.3.1/tcp/4001", T0 + 20 * LP2P_SECONDS),
                   0);
  assert_int_equal(add(&b, 1, "/ip4/9.9.9.9/tcp/4001", T0 + 21 * LP2P_SECONDS),
                   0);
  lp2p_tstamp t = T0 + 22 * LP2P_SECONDS;
  assert_int_equal(b.st.addrs_replaced, 1);
  assert_int_equal(count(&b, 1, t), LP2P_ADDRBOOK_MAX_ADDRS);
  assert_true(has(&b, 1, "/ip4/9.9.9.9/tcp/4001", t));
  assert_true(has(&b, 1, "/ip4/1.2.3.1/tcp/4001", t));
  assert_false(has(&b, 1, "/ip4/1.2.3.2/tcp/4001", t));
  lp2p__addrbook_free(&b);
}

static void peer_past_max_evicts_the_least_recently_used(void **state) {
  (void)state;
  lp2p__addrbook b;
  lp2p__addrbook_init(&b, LP2P_ADDRBOOK_MAX_PEERS, LP2P_ADDRBOOK_TTL, NULL);
  for (unsigned i = 0; i < LP2P_ADDRBOOK_MAX_PEERS; i++) {
    assert_int_equal(add(&b, i, "/ip4/1.2.3.4/tcp/4001", T0 + i), 0);
  }
  assert_int_equal(b.npeers, LP2P_ADDRBOOK_MAX_PEERS);
  assert_int_equal(b.st.peers_evicted, 0);
  /* peer 0, the oldest, is looked up: peer 1 is now the least recently
   * used */
  assert_int_equal(count(&b, 0, T0 + 5000), 1);
  assert_int_equal(add(&b, 5000, "/ip4/5.6.7.8/tcp/4001", T0 + 5001), 0);
  assert_int_equal(b.npeers, LP2P_ADDRBOOK_MAX_PEERS);
  assert_int_equal(b.st.peers_evicted, 1);
  assert_int_equal(count(&b, 1, T0 + 5002), 0);
  assert_int_equal(count(&b, 0, T0 + 5002), 1);
  assert_int_equal(count(&b, 2, T0 + 5002), 1);
  assert_int_equal(count(&b, 5000, T0 + 5002), 1);
  lp2p__addrbook_free(&b);
}

static void addrs_expire_after_the_ttl(void **state) {
  (void)state;
  lp2p__addrbook b;
  lp2p__addrbook_init(&b, 2, LP2P_ADDRBOOK_TTL, NULL);
  assert_int_equal(add(&b, 1, "/ip4/1.2.3.4/tcp/4001", T0), 0);
  assert_int_equal(
      add(&b, 1, "/ip4/1.2.3.5/tcp/4001", T0 + 30 * 60 * LP2P_SECONDS), 0);
  assert_int_equal(count(&b, 1, T0 + LP2P_ADDRBOOK_TTL - 1), 2);
  /* the first is an hour old: gone; the second stays half an hour more */
  lp2p_tstamp t = T0 + LP2P_ADDRBOOK_TTL;
  assert_false(has(&b, 1, "/ip4/1.2.3.4/tcp/4001", t));
  assert_true(has(&b, 1, "/ip4/1.2.3.5/tcp/4001", t));
  assert_int_equal(b.st.addrs_expired, 1);
  assert_int_equal(count(&b, 1, t + 30 * 60 * LP2P_SECONDS), 0);
  assert_int_equal(b.npeers, 0); /* a peer with none left is dropped */
  lp2p__addrbook_free(&b);
}

static void expired_peer_makes_room_before_any_eviction(void **state) {
  (void)state;
  lp2p__addrbook b;
  lp2p__addrbook_init(&b, 2, LP2P_ADDRBOOK_TTL, NULL);
  assert_int_equal(add(&b, 1, "/ip4/1.2.3.4/tcp/4001", T0 + 10), 0);
  assert_int_equal(add(&b, 2, "/ip4/1.2.3.5/tcp/4001", T0), 0);
  /* peer 2 (older, expired) goes, not counted as an eviction */
  lp2p_tstamp t = T0 + LP2P_ADDRBOOK_TTL + 5;
  assert_int_equal(add(&b, 3, "/ip4/1.2.3.6/tcp/4001", t), 0);
  assert_int_equal(b.st.peers_evicted, 0);
  assert_int_equal(count(&b, 2, t), 0);
  assert_int_equal(count(&b, 3, t), 1);
  lp2p__addrbook_free(&b);
}

static bool reachable(const char *remote, const char *listen) {
  lp2p_buf *r = ma(remote), *l = ma(listen);
  return lp2p__addrbook_reachable(r->data, r->len, l->data, l->len);
}

static void identify_addrs_filtered_by_remote_scope_as_go(void **state) {
  (void)state;
  /* from a loopback peer: everything */
  assert_true(reachable("/ip4/127.0.0.1/tcp/1", "/ip4/127.0.0.1/tcp/4001"));
  assert_true(reachable("/ip4/127.0.0.1/tcp/1", "/ip4/192.168.1.2/tcp/4001"));
  assert_true(reachable("/ip4/127.0.0.1/tcp/1", "/ip4/8.8.8.8/tcp/4001"));
  /* from a private one: no loopback */
  assert_false(reachable("/ip4/10.0.0.1/tcp/1", "/ip4/127.0.0.1/tcp/4001"));
  assert_false(reachable("/ip4/10.0.0.1/tcp/1", "/ip6/::1/tcp/4001"));
  assert_true(reachable("/ip4/10.0.0.1/tcp/1", "/ip4/192.168.1.2/tcp/4001"));
  assert_true(reachable("/ip4/10.0.0.1/tcp/1", "/ip6/fd00::2/tcp/4001"));
  /* from a public one: public only */
  assert_true(reachable("/ip4/8.8.4.4/tcp/1", "/ip4/8.8.8.8/tcp/4001"));
  assert_true(reachable("/ip4/8.8.4.4/tcp/1", "/ip6/2001:db8::1/tcp/4001"));
  assert_false(reachable("/ip4/8.8.4.4/tcp/1", "/ip4/172.16.0.1/tcp/4001"));
  assert_false(reachable("/ip4/8.8.4.4/tcp/1", "/ip4/100.64.0.1/tcp/4001"));
  assert_false(reachable("/ip4/8.8.4.4/tcp/1", "/ip4/127.0.0.1/tcp/4001"));
  assert_false(reachable("/ip4/8.8.4.4/tcp/1", "/ip6/fe80::1/tcp/4001"));
  /* QUIC connections and addresses filtered alike */
  assert_false(reachable("/ip4/8.8.4.4/udp/1/quic-v1",
                         "/ip4/127.0.0.1/udp/4001/quic-v1"));
  assert_true(reachable("/ip4/10.0.0.1/udp/1/quic-v1",
                        "/ip4/192.168.1.2/udp/4001/quic-v1"));
  assert_false(
      reachable("/ip4/8.8.4.4/udp/1/quic-v1", "/ip4/10.0.0.1/tcp/4001"));
  /* never an unspecified address */
  assert_false(reachable("/ip4/127.0.0.1/tcp/1", "/ip4/0.0.0.0/tcp/4001"));
}

/* ---- dial ranking ----------------------------------------------------- */

/* Ranks the multiaddrs `texts` (n of them) and checks that they come out
 * in the order `want` (indexes into texts) with the delays `ms`. */
static void check_rank(const char *const *texts, size_t n, const size_t *want,
                       const unsigned *ms) {
  lp2p__dial_addr plan[LP2P_DIAL_PLAN_MAX];
  size_t nplan = 0;
  lp2p_peer_id id = peer(1);
  for (size_t i = 0; i < n; i++) {
    lp2p_buf *m = ma(texts[i]);
    assert_int_equal(lp2p__dial_plan_add(plan, &nplan, &id, m->data, m->len),
                     0);
  }
  lp2p__dial_plan_rank(plan, nplan);
  for (size_t i = 0; i < n; i++) {
    lp2p_buf *m = ma(texts[want[i]]);
    assert_int_equal(plan[i].len, m->len);
    assert_memory_equal(plan[i].bytes, m->data, m->len);
    assert_int_equal(plan[i].delay, ms[i] * LP2P_MILLISECONDS);
  }
}

/* As go's DefaultDialRanker: a public peer's QUIC address at once, its
 * TCP one 250 ms later (PublicTCPDelay); lower ports first. */
static void public_tcp_dialled_250ms_after_quic(void **state) {
  (void)state;
  const char *const texts[] = {"/ip4/1.2.3.4/tcp/4001",
                               "/ip4/1.2.3.4/udp/4002/quic-v1",
                               "/ip4/1.2.3.4/udp/4001/quic-v1"};
  const size_t want[] = {2, 1, 0};
  const unsigned ms[] = {0, 250, 500};
  check_rank(texts, 3, want, ms);
}

/* Loopback and RFC 1918 addresses are private: 30 ms steps
 * (PrivateQUICDelay, PrivateTCPDelay), dialled beside the public group. */
static void private_addrs_step_30ms_beside_public_ones(void **state) {
  (void)state;
  const char *const texts[] = {
      "/ip4/1.2.3.4/tcp/4001", "/ip4/127.0.0.1/tcp/4001",
      "/ip4/192.168.1.2/udp/4001/quic-v1", "/ip4/1.2.3.4/udp/4001/quic-v1"};
  const size_t want[] = {2, 3, 1, 0};
  const unsigned ms[] = {0, 0, 30, 250};
  check_rank(texts, 4, want, ms);
}

/* Happy eyeballs: IPv6 QUIC first, IPv4 QUIC one delay later, other QUIC
 * addresses two delays later; TCP one delay after the last QUIC dial,
 * its IPv4 address one delay after its IPv6 one. */
static void happy_eyeballs_puts_ipv4_second_as_go(void **state) {
  (void)state;
  const char *const texts[] = {
      "/ip6/2001:db8::1/tcp/4001", "/ip4/1.2.3.4/udp/4001/quic-v1",
      "/ip6/2001:db8::1/udp/4002/quic-v1", "/ip6/2001:db8::1/udp/4001/quic-v1",
      "/ip4/1.2.3.4/tcp/4001"};
  const size_t want[] = {3, 1, 2, 0, 4};
  const unsigned ms[] = {0, 250, 500, 750, 1000};
  check_rank(texts, 5, want, ms);
}

/* A record naming more addresses than a plan holds: the rest are refused
 * (the caller counts them); a repeated address is dialled once. */
static void dial_plan_bounded_and_without_duplicates(void **state) {
  (void)state;
  lp2p__dial_addr plan[LP2P_DIAL_PLAN_MAX];
  size_t n = 0;
  lp2p_peer_id id = peer(1);
  for (unsigned i = 0; i < LP2P_DIAL_PLAN_MAX; i++) {
    char text[64];
    snprintf(text, sizeof(text), "/ip4/1.2.3.4/tcp/%u", 4001 + i);
    lp2p_buf *m = ma(text);
    assert_int_equal(lp2p__dial_plan_add(plan, &n, &id, m->data, m->len), 0);
  }
  lp2p_buf *again = ma("/ip4/1.2.3.4/tcp/4001");
  assert_int_equal(lp2p__dial_plan_add(plan, &n, &id, again->data, again->len),
                   LP2P_ERR_UNSUPPORTED);
  lp2p_buf *more = ma("/ip4/1.2.3.4/tcp/5000");
  assert_int_equal(lp2p__dial_plan_add(plan, &n, &id, more->data, more->len),
                   LP2P_ERR_TOO_LARGE);
  assert_int_equal(n, LP2P_DIAL_PLAN_MAX);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(addr_is_kept_without_its_p2p_component),
      cmocka_unit_test(quic_v1_addr_is_kept_as_tcp_ones_are),
      cmocka_unit_test(quic_addrs_rank_before_tcp_as_go),
      cmocka_unit_test(undialable_addrs_are_rejected_and_counted),
      cmocka_unit_test(ninth_addr_replaces_the_soonest_to_expire),
      cmocka_unit_test(peer_past_max_evicts_the_least_recently_used),
      cmocka_unit_test(addrs_expire_after_the_ttl),
      cmocka_unit_test(expired_peer_makes_room_before_any_eviction),
      cmocka_unit_test(identify_addrs_filtered_by_remote_scope_as_go),
      cmocka_unit_test(public_tcp_dialled_250ms_after_quic),
      cmocka_unit_test(private_addrs_step_30ms_beside_public_ones),
      cmocka_unit_test(happy_eyeballs_puts_ipv4_second_as_go),
      cmocka_unit_test(dial_plan_bounded_and_without_duplicates),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
