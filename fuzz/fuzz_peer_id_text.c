/* Peer id text forms: lp2p_peer_id_parse.
 * Beyond "no crash": a parsed id is a valid byte form; its base58 and CIDv1
 * texts both parse back to the same id; and the text forms are canonical:
 * an input read as base58 ("1...", "Qm...") or as a base32 CID ("b...") is
 * exactly the text that lp2p_peer_id_to_base58 / _to_cid writes. */
#include <string.h>

#include "fuzz.h"
#include "lp2p/multiformats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  lp2p_peer_id id, again;
  if (lp2p_peer_id_parse(text, size, &id) != 0) {
    return 0;
  }
  FUZZ_CHECK(id.len <= LP2P_PEER_ID_MAX);
  FUZZ_CHECK(lp2p_peer_id_from_bytes(id.bytes, id.len, &again) == 0);
  FUZZ_CHECK(lp2p_peer_id_equal(&id, &again));

  char b58[LP2P_PEER_ID_TEXT_MAX], cid[LP2P_PEER_ID_TEXT_MAX];
  int n58 = lp2p_peer_id_to_base58(&id, b58, sizeof(b58));
  int ncid = lp2p_peer_id_to_cid(&id, cid, sizeof(cid));
  FUZZ_CHECK(n58 > 0 && (size_t)n58 == strlen(b58));
  FUZZ_CHECK(ncid > 0 && (size_t)ncid == strlen(cid));

  memset(&again, 0, sizeof(again));
  FUZZ_CHECK(lp2p_peer_id_parse(b58, (size_t)n58, &again) == 0);
  FUZZ_CHECK(lp2p_peer_id_equal(&id, &again));
  memset(&again, 0, sizeof(again));
  FUZZ_CHECK(lp2p_peer_id_parse(cid, (size_t)ncid, &again) == 0);
  FUZZ_CHECK(lp2p_peer_id_equal(&id, &again));

  if (text[0] == '1' || (size >= 2 && text[0] == 'Q' && text[1] == 'm')) {
    FUZZ_CHECK((size_t)n58 == size && memcmp(b58, text, size) == 0);
  } else if (text[0] == LP2P_MULTIBASE_BASE32) {
    FUZZ_CHECK((size_t)ncid == size && memcmp(cid, text, size) == 0);
  }
  return 0;
}
