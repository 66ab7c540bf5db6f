/* msgid: a message id computed from the content, as Ethereum does.
 *
 * GossipSub routers remember the ids of the messages they have seen, to
 * drop the copies that arrive from several mesh peers and to gossip
 * ("IHAVE these ids"). By default an id is the author's peer id followed
 * by the message's sequence number, so the same bytes published twice are
 * two messages. Networks that do not sign messages (StrictNoSign: no
 * author, no sequence number) derive the id from the content instead:
 * Ethereum's consensus layer takes the first 20 bytes of
 * SHA-256(domain || length of the topic || topic || data), Filecoin a
 * BLAKE2b hash of the data. Then a block published by two nodes is one
 * message, delivered once.
 *
 * Node 0 publishes "block 42"; node 1 receives it under our id, and its
 * own publication of the same bytes is refused as already seen. */
#include <sodium.h>

#include "example_pair.h"

#define ID_LEN 20
static const uint8_t domain[4] = {1, 0, 0, 0}; /* Ethereum's "valid snappy" */

static ex_pair pair;
static int delivered;

/* The id of a message: Ethereum's shape (the length of the topic as 8
 * bytes little endian). Returns the id's length, or a negative value to
 * reject the message as invalid. */
static int content_id(const lp2p_message *msg, uint8_t *out, size_t cap) {
  uint8_t len_le[8], digest[crypto_hash_sha256_BYTES];
  for (int i = 0; i < 8; i++) {
    len_le[i] = (uint8_t)((uint64_t)msg->topic.len >> (8 * i));
  }
  crypto_hash_sha256_state h;
  crypto_hash_sha256_init(&h);
  crypto_hash_sha256_update(&h, domain, sizeof(domain));
  crypto_hash_sha256_update(&h, len_le, sizeof(len_le));
  crypto_hash_sha256_update(&h, msg->topic.data, msg->topic.len);
  crypto_hash_sha256_update(&h, msg->data.data, msg->data.len);
  crypto_hash_sha256_final(&h, digest);
  if (cap < ID_LEN) {
    return -1;
  }
  memcpy(out, digest, ID_LEN);
  return ID_LEN;
}

/* The node's msg_id callback: the router calls it for every message, ours
 * and the peers'. */
static int msg_id(lp2p_node *n, const lp2p_message *msg, uint8_t *out,
                  size_t cap, void *user) {
  (void)n;
  (void)user;
  return content_id(msg, out, cap);
}

static void print_id(const char *what, const uint8_t *id, size_t len) {
  printf("%s ", what);
  for (size_t i = 0; i < len; i++) {
    printf("%02x", id[i]);
  }
  printf("\n");
}

static void on_message(lp2p_node *n, const lp2p_message *msg, void *user) {
  (void)user;
  uint8_t want[ID_LEN];
  int len = content_id(msg, want, sizeof(want));
  print_id("node 1 got \"block 42\" with id", msg->id.data, msg->id.len);
  if (len != (int)msg->id.len || memcmp(want, msg->id.data, ID_LEN) != 0) {
    pair.failed = 1; /* not the id our function gives */
  }
  delivered++;
  /* The same bytes from another author have the same id: seen already. */
  int rv = lp2p_node_publish(n, msg->topic.data, msg->topic.len, msg->data.data,
                             msg->data.len, NULL, NULL);
  printf("node 1 publishing the same bytes: %s\n",
         rv == LP2P_ERR_STATE ? "refused, already seen" : lp2p_strerror(rv));
  if (rv != LP2P_ERR_STATE) {
    pair.failed = 1;
  }
  ex_pair_stop(&pair);
}

static void publish_block(ex_pair *p) {
  uint8_t id[ID_LEN];
  size_t id_len = 0;
  const char *block = "block 42";
  int rv =
      lp2p_node_publish(p->node[0], (const uint8_t *)EX_TOPIC, strlen(EX_TOPIC),
                        (const uint8_t *)block, strlen(block), id, &id_len);
  if (rv < 0) { /* an error, or no peer to send it to (LP2P_ERR_NOT_SENT) */
    fprintf(stderr, "publish: %s\n", lp2p_strerror(rv));
    p->failed = 1;
    ex_pair_stop(p);
    return;
  }
  print_id("node 0 published \"block 42\" with id", id, id_len);
}

int main(void) {
  lp2p_node_settings s;
  lp2p_node_settings_default(&s);
  /* No author, sequence number or signature on the wire: the content is
   * all there is to name a message by. */
  s.router.sign_policy = LP2P_STRICT_NO_SIGN;
  s.router.msg_id = LP2P_MSG_ID_CALLBACK;
  lp2p_node_callbacks cb = {.message = on_message, .msg_id = msg_id};
  void *users[2] = {NULL, NULL};
  ex_pair_start(&pair, &s, &cb, users, publish_block);
  ex_pair_run(&pair);
  ex_pair_close(&pair);
  return !pair.failed && delivered == 1 ? 0 : 1;
}
