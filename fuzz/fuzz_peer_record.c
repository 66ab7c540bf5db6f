/* Peer records: the input is tried both as a PeerRecord payload
 * (lp2p_peer_record_decode) and as a sealed envelope (lp2p_peer_record_open).
 * Beyond "no crash": a decoded record re-encodes to one that decodes to the
 * same peer id, seq and addresses (skipped ones excepted), with every kept
 * address a valid multiaddr; an opened record's key is its peer id. */
#include <string.h>

#include "fuzz.h"
#include "lp2p/record.h"

static void check_roundtrip(const lp2p_peer_record *rec) {
  lp2p_peer_record again;
  lp2p_buf buf;
  FUZZ_CHECK(rec->naddrs <= LP2P_PEER_RECORD_MAX_ADDRS);
  for (size_t i = 0; i < rec->naddrs; i++) {
    FUZZ_CHECK(lp2p_multiaddr_validate(rec->addrs[i].bytes, rec->addrs[i].len,
                                       NULL) == 0);
  }
  lp2p_buf_init(&buf, NULL);
  FUZZ_CHECK(lp2p_peer_record_encode(rec, &buf) == 0);
  FUZZ_CHECK(lp2p_peer_record_decode(buf.data, buf.len, &again) == 0);
  FUZZ_CHECK(lp2p_peer_id_equal(&rec->peer_id, &again.peer_id));
  FUZZ_CHECK(rec->seq == again.seq);
  FUZZ_CHECK(rec->naddrs == again.naddrs && again.addrs_skipped == 0);
  for (size_t i = 0; i < rec->naddrs; i++) {
    FUZZ_CHECK(rec->addrs[i].len == again.addrs[i].len);
    FUZZ_CHECK(memcmp(rec->addrs[i].bytes, again.addrs[i].bytes,
                      rec->addrs[i].len) == 0);
  }
  lp2p_buf_free(&buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lp2p_peer_record rec;
  lp2p_envelope env;
  if (lp2p_peer_record_decode(data, size, &rec) == 0) {
    check_roundtrip(&rec);
  }
  if (lp2p_peer_record_open(data, size, &rec, &env) == 0) {
    FUZZ_CHECK(lp2p_peer_id_check_pubkey(&rec.peer_id, &env.pubkey) == 0);
    check_roundtrip(&rec);
  }
  return 0;
}
