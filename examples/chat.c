/* chat: a chat room over GossipSub, the shortest complete lp2p program.
 *
 *   chat                  listens on 127.0.0.1 and prints its address
 *   chat ADDRESS          also dials a peer, e.g. the address another
 *                         chat printed: /ip4/127.0.0.1/tcp/PORT/p2p/ID
 *
 * Each program is a libp2p node: an identity (a key pair; the peer id is
 * derived from the public key), a host that listens and dials over TCP
 * (encrypted with Noise, multiplexed with yamux), and a GossipSub router.
 * Every node joins the topic "chat": lines read from stdin are published
 * on it, and messages from the other peers are printed as "PEER: text".
 * GossipSub sends a message to the peers in its "mesh" for the topic,
 * a few of the peers in the topic that the router picks as it learns of
 * them and keeps in shape at its heartbeat (every second); the program
 * says when a peer joins it. End of input (Ctrl-D) leaves and exits. */
#include <lp2p/lp2p.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#define TOPIC "chat"

static lp2p_node *node;
static uv_pipe_t input; /* stdin: a pipe or a terminal */
static char line[4096];
static size_t line_len;

/* The last characters of a peer id in text: enough to tell peers apart. */
static const char *short_id(const lp2p_peer_id *peer, char text[80]) {
  int len = lp2p_peer_id_to_base58(peer, text, 80);
  return len > 6 ? text + len - 6 : text;
}

static void on_message(lp2p_node *n, const lp2p_message *msg, void *user) {
  (void)n;
  (void)user;
  char text[80];
  printf("%s: %.*s\n", short_id(msg->received_from, text), (int)msg->data.len,
         (const char *)msg->data.data);
  fflush(stdout);
}

static void on_router_event(lp2p_node *n, const lp2p_router_event *ev,
                            void *user) {
  (void)n;
  (void)user;
  char text[80];
  if (ev->type == LP2P_EV_GRAFT) {
    printf("* %s joined the mesh\n", short_id(ev->peer, text));
  } else if (ev->type == LP2P_EV_PRUNE) {
    printf("* %s left the mesh\n", short_id(ev->peer, text));
  }
  fflush(stdout);
}

static void publish_line(void) {
  int rv = lp2p_node_publish(node, (const uint8_t *)TOPIC, strlen(TOPIC),
                             (const uint8_t *)line, line_len, NULL, NULL);
  if (rv == LP2P_ERR_NOT_SENT) {
    printf("* nobody in the mesh yet: not sent\n");
  } else if (rv < 0) {
    printf("* not sent: %s\n", lp2p_strerror(rv));
  }
  fflush(stdout);
  line_len = 0;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)h;
  (void)hint;
  static char chunk[4096];
  *buf = uv_buf_init(chunk, sizeof(chunk));
}

/* Bytes from stdin: publish each complete line (a longer one in parts). */
static void on_input(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  for (ssize_t i = 0; i < n; i++) {
    if (buf->base[i] != '\n') {
      line[line_len++] = buf->base[i];
    }
    if (buf->base[i] == '\n' || line_len == sizeof(line)) {
      publish_line();
    }
  }
  if (n < 0) { /* end of input or an error: leave the topic and stop */
    if (line_len > 0) {
      publish_line();
    }
    uv_close((uv_handle_t *)s, NULL);
    lp2p_node_close(node, NULL, NULL);
  }
}

/* Prints the address others dial: the listening address and our id. */
static void print_address(void) {
  lp2p_buf addrs, text;
  lp2p_buf_init(&addrs, NULL);
  lp2p_buf_init(&text, NULL);
  uint64_t len = 0;
  int hdr = lp2p_host_listen_addrs(lp2p_node_host(node), true, &addrs) > 0
                ? lp2p_uvarint_decode(addrs.data, addrs.len, &len)
                : -1;
  if (hdr > 0 &&
      lp2p_multiaddr_format(addrs.data + hdr, (size_t)len, &text, NULL) == 0) {
    printf("listening on %s\n", (const char *)text.data);
    fflush(stdout);
  }
  lp2p_buf_free(&addrs);
  lp2p_buf_free(&text);
}

static int start(uv_loop_t *loop, const char *peer) {
  lp2p_privkey key; /* a new identity for each run */
  lp2p_node_settings s;
  lp2p_node_settings_default(&s);
  s.host.key = &key;
  lp2p_node_callbacks cb = {.message = on_message,
                            .router_event = on_router_event};
  lp2p_buf ma;
  lp2p_buf_init(&ma, NULL);
  lp2p_errdetail err = {{0}};
  int rv = lp2p_privkey_generate(LP2P_KEY_ED25519, lp2p_host_rand, NULL, &key);
  rv = rv ? rv : lp2p_node_new(&node, loop, &s, &cb, NULL, NULL, &err);
  lp2p_privkey_wipe(&key); /* the node keeps its own copy */
  rv = rv ? rv : lp2p_multiaddr_parse("/ip4/127.0.0.1/tcp/0", &ma, &err);
  rv = rv ? rv : lp2p_host_listen(lp2p_node_host(node), ma.data, ma.len, &err);
  rv = rv ? rv
          : lp2p_node_subscribe(node, (const uint8_t *)TOPIC, strlen(TOPIC));
  if (rv == 0 && peer) {
    lp2p_buf_truncate(&ma, 0);
    rv = lp2p_multiaddr_parse(peer, &ma, &err);
    rv = rv ? rv : lp2p_node_connect(node, ma.data, ma.len, &err);
  }
  lp2p_buf_free(&ma);
  if (rv != 0) {
    fprintf(stderr, "chat: %s %s\n", lp2p_strerror(rv), err.msg);
    return 1;
  }
  print_address();
  uv_pipe_init(loop, &input, 0);
  if (uv_pipe_open(&input, 0) != 0 ||
      uv_read_start((uv_stream_t *)&input, on_alloc, on_input) != 0) {
    fprintf(stderr, "chat: stdin must be a terminal or a pipe\n");
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  uv_loop_t *loop = uv_default_loop();
  int status = start(loop, argc > 1 ? argv[1] : NULL);
  if (status != 0 && node) {
    if (input.loop) { /* initialised, not started */
      uv_close((uv_handle_t *)&input, NULL);
    }
    lp2p_node_close(node, NULL, NULL);
  }
  uv_run(loop, UV_RUN_DEFAULT); /* until the node has closed */
  uv_loop_close(loop);
  return status;
}
