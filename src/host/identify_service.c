/* identify and identify push, glued to the host: the protocol (answering
 * requests, asking on every new connection, taking pushes, the limits) is
 * the connection's services' (net/services.c); the host supplies what
 * only it knows for the answer (our key, listen addresses, protocols, the
 * address we see the peer at, our agent, the signed peer record of our
 * addresses) and keeps the peer's answer for lp2p_conn_identify. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host/internal.h"

#define PROTOCOL_VERSION "ipfs/0.1.0"

bool lp2p__service_is_builtin(const char *protocol) {
  return lp2p__services_is_builtin(protocol);
}

void lp2p__identify_invalidate(lp2p_host *h) {
  lp2p_buf_free(&h->record);
}

/* Our listen addresses (without /p2p/), appended to `storage` from `off`
 * on, into `id`: views taken once all are appended. */
static void fill_addrs(lp2p_host *h, lp2p_identify *id, lp2p_buf *storage,
                       size_t off) {
  if (lp2p_host_listen_addrs(h, false, storage) < 0) {
    return;
  }
  while (off < storage->len && id->naddrs < LP2P_PEER_RECORD_MAX_ADDRS) {
    uint64_t len;
    int n = lp2p_uvarint_decode(storage->data + off, storage->len - off, &len);
    if (n < 0 || len > storage->len - off - (size_t)n) {
      return;
    }
    id->listen_addrs[id->naddrs++] =
        (lp2p_bytes){storage->data + off + (size_t)n, (size_t)len};
    off += (size_t)n + (size_t)len;
  }
}

/* The signed peer record of our listen addresses, made once and again
 * whenever they change; its seq is the wall clock in nanoseconds, as in
 * go-libp2p, so that a restarted node's records supersede older ones. */
static const lp2p_buf *signed_record(lp2p_host *h, const lp2p_identify *id) {
  if (h->record.len > 0) {
    return &h->record;
  }
  lp2p_peer_record rec;
  memset(&rec, 0, sizeof(rec));
  rec.peer_id = h->peer_id;
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  uint64_t seq = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
  h->record_seq = seq > h->record_seq ? seq : h->record_seq + 1;
  rec.seq = h->record_seq;
  for (size_t i = 0; i < id->naddrs; i++) {
    rec.addrs[rec.naddrs++] = (lp2p_peer_record_addr){id->listen_addrs[i].data,
                                                      id->listen_addrs[i].len};
  }
  if (lp2p_peer_record_seal(&h->key, &rec, &h->record) != 0) {
    lp2p_buf_free(&h->record);
  }
  return &h->record;
}

/* The services' identify_answer: what we tell the peer of `c`. Views go
 * into `storage` (our key, then our addresses) and into the host and the
 * connection, which outlive the encoding. */
static int identify_answer(lp2p__services *sv, lp2p_identify *id,
                           lp2p_buf *storage, void *user) {
  (void)sv;
  lp2p_conn *c = user;
  lp2p_host *h = c->host;
  uint8_t pk[LP2P_PUBKEY_PB_MAX];
  int pklen = lp2p_pubkey_marshal(&h->pubkey, pk, sizeof(pk));
  if (pklen < 0) {
    return pklen;
  }
  if (lp2p_buf_append(storage, pk, (size_t)pklen) != 0) {
    return LP2P_ERR_NOMEM;
  }
  fill_addrs(h, id, storage, (size_t)pklen);
  id->public_key = (lp2p_bytes){storage->data, (size_t)pklen};
  for (size_t i = 0; i < h->nprotocols && i < LP2P_IDENTIFY_MAX_PROTOCOLS;
       i++) {
    id->protocols[id->nprotocols++] =
        (lp2p_bytes){(const uint8_t *)h->protocols[i], strlen(h->protocols[i])};
  }
  if (c->remote_addr.len > 0) {
    id->observed_addr = (lp2p_bytes){c->remote_addr.data, c->remote_addr.len};
  }
  id->protocol_version =
      (lp2p_bytes){(const uint8_t *)PROTOCOL_VERSION, strlen(PROTOCOL_VERSION)};
  id->agent_version = (lp2p_bytes){(const uint8_t *)h->agent, strlen(h->agent)};
  const lp2p_buf *rec = signed_record(h, id);
  if (rec->len > 0) {
    id->signed_peer_record = (lp2p_bytes){rec->data, rec->len};
  }
  return 0;
}

/* The services' identified: the peer's answer (or push), checked against
 * the connection's peer, replaces what it said before. */
static void identified(lp2p__services *sv, lp2p_buf *raw,
                       const lp2p_identify *id, const lp2p_identify_verified *v,
                       bool push, void *user) {
  (void)sv;
  (void)id;
  (void)v;
  (void)push;
  lp2p_conn *c = user;
  lp2p_buf tmp = c->identify;
  c->identify = *raw;
  *raw = tmp;
  c->has_identify = true;
  lp2p_host *h = c->host;
  if (h->cb.identified) {
    h->cb.identified(h, c, h->user);
  }
}

int lp2p__conn_services_start(lp2p_conn *c) {
  static const lp2p__services_callbacks cb = {
      .identify_answer = identify_answer,
      .identified = identified,
      .ping_done = lp2p__ping_done,
  };
  lp2p__services_settings set = {.rand_fn = lp2p_host_rand};
  return lp2p__services_new(&c->services, c->session, &set, &cb, c->host->mem,
                            c);
}

void lp2p__conn_services_count(const lp2p_conn *c, lp2p_host_stats *st) {
  lp2p__services_stats s;
  if (!c->services) {
    return;
  }
  lp2p__services_stats_get(c->services, &s);
  st->identify_refused += s.identify_refused;
  st->identify_timeouts += s.identify_timeouts;
  st->identify_failed += s.identify_failed;
  st->ping_streams_reset += s.ping_streams_reset;
  st->ping_idle_resets += s.ping_idle_resets;
}

void lp2p__identify_request(lp2p_conn *c) {
  if (c->services && lp2p__services_identify(c->services) == 0) {
    lp2p__conn_touch(c);
  }
}
