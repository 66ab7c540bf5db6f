/* identify: the input is everything an identify stream carried
 * (lp2p_identify_read), and also one bare message (lp2p_identify_decode).
 * Beyond "no crash": lists stay within their bounds and hold only valid
 * entries; a decoded message re-encodes, and that decodes to the same
 * fields with nothing skipped; writing it as a stream reads back the
 * same; verification against a fixed peer either fails or agrees with
 * the peer. */
#include <string.h>

#include "fuzz.h"
#include "lp2p/noise.h"

static void bytes_same(lp2p_bytes a, lp2p_bytes b) {
  FUZZ_CHECK((a.data == NULL) == (b.data == NULL));
  FUZZ_CHECK(a.len == b.len);
  FUZZ_CHECK(a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

static void same(const lp2p_identify *a, const lp2p_identify *b) {
  bytes_same(a->public_key, b->public_key);
  bytes_same(a->observed_addr, b->observed_addr);
  bytes_same(a->protocol_version, b->protocol_version);
  bytes_same(a->agent_version, b->agent_version);
  bytes_same(a->signed_peer_record, b->signed_peer_record);
  FUZZ_CHECK(a->naddrs == b->naddrs && a->nprotocols == b->nprotocols);
  for (size_t i = 0; i < a->naddrs; i++) {
    bytes_same(a->listen_addrs[i], b->listen_addrs[i]);
  }
  for (size_t i = 0; i < a->nprotocols; i++) {
    bytes_same(a->protocols[i], b->protocols[i]);
  }
}

static void check(const lp2p_identify *id) {
  static lp2p_identify again;
  static lp2p_identify_verified v;
  lp2p_buf b;
  FUZZ_CHECK(id->naddrs <= LP2P_IDENTIFY_MAX_ADDRS);
  FUZZ_CHECK(id->nprotocols <= LP2P_IDENTIFY_MAX_PROTOCOLS);
  for (size_t i = 0; i < id->naddrs; i++) {
    FUZZ_CHECK(lp2p_multiaddr_validate(id->listen_addrs[i].data,
                                       id->listen_addrs[i].len, NULL) == 0);
  }
  lp2p_buf_init(&b, NULL);
  FUZZ_CHECK(lp2p_identify_encode(id, &b) == 0);
  if (b.len <= LP2P_IDENTIFY_MAX_SIZE) {
    FUZZ_CHECK(lp2p_identify_decode(b.data, b.len, &again) == 0);
    same(id, &again);
    FUZZ_CHECK(again.addrs_skipped == 0 && again.protocols_skipped == 0 &&
               again.observed_addr_skipped == 0);
  }
  lp2p_buf_truncate(&b, 0);
  if (lp2p_identify_write(id, &b) == 0) {
    FUZZ_CHECK(lp2p_identify_read(b.data, b.len, &again) == 0);
    same(id, &again);
  }
  lp2p_buf_free(&b);
  /* an Ed25519 identity peer id: 0x00 0x24 0x08 0x01 0x12 0x20 ‖ key */
  lp2p_peer_id peer = {38, {0x00, 0x24, 0x08, 0x01, 0x12, 0x20}};
  if (lp2p_identify_verify(id, &peer, &v) == 0) {
    FUZZ_CHECK(!v.has_pubkey ||
               lp2p_peer_id_check_pubkey(&peer, &v.pubkey) == 0);
    FUZZ_CHECK(!v.has_record || lp2p_peer_id_equal(&v.record.peer_id, &peer));
    FUZZ_CHECK(v.has_record ==
               (id->signed_peer_record.data && !v.record_error));
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static lp2p_identify id;
  const uint8_t *msg;
  size_t msg_len;
  if (lp2p_identify_read(data, size, &id) == 0) {
    check(&id);
  }
  if (lp2p_identify_decode(data, size, &id) == 0) {
    check(&id);
  }
  int n = lp2p_identify_frame(data, size, &msg, &msg_len);
  FUZZ_CHECK(n <= (int)size);
  if (n > 0) {
    FUZZ_CHECK(msg_len <= LP2P_IDENTIFY_MAX_SIZE && msg + msg_len <= data + n);
  }
  return 0;
}
