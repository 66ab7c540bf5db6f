/* embed_poll: the GossipSub router inside the application's own loop.
 *
 * lp2p's router is "sans-IO": it never touches a socket, a clock or a
 * random source. The application hands it what a peer sent and the time;
 * the router answers through callbacks and with bytes to send, and says
 * when it wants to run its heartbeat. So it fits any event loop. Here two
 * routers, "alice" and "bob", share one process and a socketpair, driven
 * by plain poll(): no libuv, no threads. On the wire each GossipSub RPC
 * is a protobuf preceded by its length as an unsigned varint, as here; a
 * real application carries these bytes on a libp2p stream (TCP, Noise and
 * yamux: lp2p/noise.h and lp2p/net.h, or the host of lp2p/host.h), and
 * learns the peer's id from the Noise handshake.
 *
 * Both join before either knows the other subscribes, so the mesh forms
 * at their first heartbeat (a subscription alone grafts nothing). Alice
 * publishes once both are in each other's mesh; exits 0 when bob
 * received the message. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1 /* getentropy, clock_gettime */
#endif
#include <lp2p/lp2p.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const uint8_t topic[] = "embed";
#define TOPIC_LEN (sizeof(topic) - 1)
#define MAX_RPC (1 << 20) /* the router's default limit, max_rpc_size */

typedef struct side {
  const char *name;
  int fd;
  lp2p_router *router;
  lp2p_peer_id id, peer; /* ours, and the other side's */
  lp2p_buf in, out;      /* read but not yet a whole RPC; not yet written */
  int received;
} side;

static lp2p_tstamp now_ns(void) { /* the router's clock: any monotonic one */
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (lp2p_tstamp)ts.tv_sec * LP2P_SECONDS + (lp2p_tstamp)ts.tv_nsec;
}

/* Randomness for the keys and for the router's choices of peers. */
static void os_random(uint8_t *dest, size_t len, void *user) {
  (void)user;
  for (size_t n; len > 0; dest += n, len -= n) {
    n = len < 256 ? len : 256;
    if (getentropy(dest, n) != 0) {
      abort();
    }
  }
}

static void on_deliver(lp2p_router *r, const lp2p_message *m, void *user) {
  (void)r;
  side *s = user;
  if (m->received_from) { /* NULL: our own publication */
    printf("%s received \"%.*s\"\n", s->name, (int)m->data.len,
           (const char *)m->data.data);
    s->received++;
  }
}

static int side_new(side *s, const char *name, int fd, lp2p_tstamp now) {
  static const lp2p_router_callbacks cb = {.deliver = on_deliver};
  lp2p_router_settings st;
  lp2p_router_settings_default(&st);
  st.rand_fn = os_random;
  lp2p_pubkey pub;
  s->name = name;
  s->fd = fd;
  lp2p_buf_init(&s->in, NULL);
  lp2p_buf_init(&s->out, NULL);
  int rv = lp2p_privkey_generate(LP2P_KEY_ED25519, os_random, NULL, &st.key);
  rv = rv ? rv : lp2p_privkey_public(&st.key, &pub);
  rv = rv ? rv : lp2p_peer_id_from_pubkey(&pub, &s->id);
  rv = rv ? rv : lp2p_router_new(&s->router, &st, &cb, NULL, s, now, NULL);
  lp2p_privkey_wipe(&st.key);
  return rv;
}

/* What the router queued for the peer: length-prefixed RPCs to write. */
static void collect(side *s, lp2p_tstamp now) {
  const uint8_t *rpc;
  ptrdiff_t n;
  while ((n = lp2p_router_pull(s->router, &s->peer, &rpc, now)) > 0) {
    lp2p_buf_append(&s->out, rpc, (size_t)n);
  }
}

static void consume(lp2p_buf *b, size_t n) { /* drops the first n bytes */
  if (n > 0) {
    memmove(b->data, b->data + n, b->len - n);
    lp2p_buf_truncate(b, b->len - n);
  }
}

/* Reads what the socket has and hands each whole RPC to the router. The
 * peer is not trusted: a length over MAX_RPC ends the connection before
 * anything that large is buffered. Returns -1 then or at end of file. */
static int receive(side *s, lp2p_tstamp now) {
  uint8_t chunk[65536];
  ssize_t got = read(s->fd, chunk, sizeof(chunk));
  if (got <= 0 || lp2p_buf_append(&s->in, chunk, (size_t)got) != 0) {
    return -1;
  }
  uint64_t len;
  int hdr;
  while ((hdr = lp2p_uvarint_decode(s->in.data, s->in.len, &len)) > 0) {
    if (len > MAX_RPC) {
      return -1;
    }
    if (s->in.len - (size_t)hdr < len) {
      return 0; /* the rest of this RPC is still on its way */
    }
    lp2p_router_recv_rpc(s->router, &s->peer, s->in.data + hdr, (size_t)len,
                         now);
    consume(&s->in, (size_t)hdr + (size_t)len);
  }
  return hdr == LP2P_ERR_TRUNCATED ? 0 : -1; /* varint incomplete: wait */
}

int main(void) {
  int fds[2];
  side sides[2] = {{0}}, *alice = &sides[0], *bob = &sides[1];
  lp2p_tstamp now = now_ns(), deadline = now + 10 * LP2P_SECONDS;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0 ||
      side_new(alice, "alice", fds[0], now) != 0 ||
      side_new(bob, "bob", fds[1], now) != 0) {
    return 1;
  }
  /* "Connected": each router learns of the other peer and the protocol
   * they agreed on, then both join the topic. */
  alice->peer = bob->id;
  bob->peer = alice->id;
  for (int i = 0; i < 2; i++) {
    lp2p_peer_info info = {.proto = LP2P_MESHSUB_12, .outbound = i == 0};
    lp2p_router_add_peer(sides[i].router, &sides[i].peer, &info, now);
    lp2p_router_join(sides[i].router, topic, TOPIC_LEN, now);
  }
  bool published = false;
  while (bob->received == 0 && now < deadline) {
    if (!published &&
        lp2p_router_mesh_peers(alice->router, topic, TOPIC_LEN, NULL, 0)) {
      const char *text = "hello from alice's own loop";
      lp2p_router_publish(alice->router, topic, TOPIC_LEN,
                          (const uint8_t *)text, strlen(text), NULL, NULL, now);
      published = true;
    }
    /* Sleep until a socket is ready or the next heartbeat is due. */
    lp2p_tstamp wake = deadline;
    struct pollfd pfd[2];
    for (int i = 0; i < 2; i++) {
      collect(&sides[i], now);
      lp2p_tstamp due = lp2p_router_expiry(sides[i].router);
      wake = due < wake ? due : wake;
      pfd[i] = (struct pollfd){sides[i].fd, POLLIN, 0};
      pfd[i].events |= sides[i].out.len ? POLLOUT : 0;
    }
    int ms = wake > now ? (int)((wake - now) / LP2P_MILLISECONDS) + 1 : 0;
    if (poll(pfd, 2, ms) < 0) {
      return 1;
    }
    now = now_ns();
    for (int i = 0; i < 2; i++) {
      side *s = &sides[i];
      if ((pfd[i].revents & (POLLIN | POLLHUP)) && receive(s, now) != 0) {
        return 1; /* a real application would drop this peer */
      }
      ssize_t put =
          pfd[i].revents & POLLOUT ? write(s->fd, s->out.data, s->out.len) : 0;
      consume(&s->out, put > 0 ? (size_t)put : 0);
      if (now >= lp2p_router_expiry(s->router)) {
        lp2p_router_handle_expiry(s->router, now); /* the heartbeat */
      }
    }
  }
  int ok = bob->received == 1;
  for (int i = 0; i < 2; i++) {
    lp2p_router_del(sides[i].router);
    lp2p_buf_free(&sides[i].in);
    lp2p_buf_free(&sides[i].out);
    close(sides[i].fd);
  }
  return ok ? 0 : 1;
}
