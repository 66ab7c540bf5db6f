/* Helpers for tests of the libuv host: nodes on one loop, running the loop
 * until a condition holds, and an echo protocol. */
#ifndef LP2P_TESTUTIL_HOST_H
#define LP2P_TESTUTIL_HOST_H

#include <stdbool.h>
#include <uv.h>

#include "lp2p/lp2p.h"

#define ECHO_PROTOCOL "/echo/1.0.0"

typedef struct th_node {
  lp2p_host *host;
  lp2p_privkey key;
  lp2p_host_settings settings;
  int connected, disconnected, identified, handshake_failed;
  lp2p_disconnect_reason last_reason;
  int last_handshake_err;
  char last_msg[160];
  lp2p_conn *last_conn;
  bool closed;
  /* The host's peer_value callback, when set before th_node_start. */
  int32_t (*peer_value)(const lp2p_peer_id *peer, void *arg);
  void *peer_value_arg;
} th_node;

extern uv_loop_t *th_loop;

/* Starts the shared loop with a 10 ms tick, so that th_run_until polls. */
void th_loop_init(void);
void th_loop_free(void);
/* th_loop_init and th_loop_free as cmocka setup and teardown. */
int th_setup(void **state);
int th_teardown(void **state);
/* Runs the loop until `cond(arg)` holds; fails the test after `ms`,
 * naming the caller's line. */
#define th_run_until(cond, arg, ms)                                            \
  th_run_until_at(cond, arg, ms, __FILE__, __LINE__)
void th_run_until_at(bool (*cond)(void *arg), void *arg, int ms,
                     const char *file, int line);
/* Runs the loop for `ms` milliseconds. */
void th_run_for(int ms);

/* Default settings with a key derived from `seed`; `type` Ed25519 or
 * secp256k1. th_node_start creates the host with n->settings. */
void th_node_init(th_node *n, uint8_t seed, lp2p_key_type type);
void th_node_start(th_node *n);
/* Listens on 127.0.0.1, TCP port 0. */
void th_node_listen(th_node *n);
/* Listens on a text multiaddr (fails the test, naming it, when refused). */
void th_node_listen_on(th_node *n, const char *text);
/* The first listen address, binary, ending in /p2p/<id>. */
void th_node_addr(const th_node *n, lp2p_buf *out);
/* Closes the host and runs the loop until it is freed. */
void th_node_close(th_node *n);

/* Serves ECHO_PROTOCOL: every byte is written back, and the stream is
 * closed after the peer's end has been echoed. */
void th_serve_echo(th_node *n);

/* A finished dial. */
typedef struct th_dial {
  bool done;
  int err;
  char msg[160];
  lp2p_conn *conn;
} th_dial;
/* Dials `to`'s address; `d` completes. Fails the test when the call
 * itself fails. */
void th_dial_start(th_node *from, const th_node *to, th_dial *d);
bool th_dial_done(void *d);
/* The lp2p_dial_cb that completes a th_dial. */
void th_on_dial(lp2p_host *h, lp2p_conn *c, int err, const char *msg,
                void *user);
/* Dials a text multiaddr; a refusal by lp2p_host_dial completes `d` at
 * once with its error and detail. */
void th_dial_text(th_node *from, const char *text, th_dial *d);

/* A loopback socket that never answers: over TCP it listens and never
 * accepts, over QUIC (`quic`) it is bound and never read, as behind a
 * firewall that drops UDP. Its multiaddr (/ip4/127.0.0.1/tcp/P or
 * /ip4/127.0.0.1/udp/P/quic-v1) goes to `text`; returns the socket, to
 * close once done. */
int th_silent_socket(bool quic, char *text, size_t cap);
/* A dial the caller abandons (lp2p_host_dial_cancel, as the node does
 * with a peer's other dials once one connected) while its handshake waits
 * on a silent socket (TCP or QUIC): its connection is closed at once, a
 * second cancel finds nothing, and its callback is never called. */
void th_check_dial_cancel(bool quic);

/* Two nodes, b dialing a. */
typedef struct th_pair {
  th_node a, b;
  th_dial dial;
} th_pair;
/* Whether both sides of a th_pair have identified the other. */
bool th_pair_identified(void *arg);
/* The first listen address as text, without /p2p/. */
void th_node_addr_text(const th_node *n, char *out, size_t cap);

#endif

/* A raw TCP peer driven by the test: it sends exactly what it is told,
 * optionally after a real upgrade (multistream-select of /noise and the
 * Noise handshake with yamux as early data), so that bad input can be
 * aimed at any stage. */
typedef struct th_raw {
  uv_tcp_t tcp;
  uv_connect_t req;
  uv_write_t wreq;
  bool connected, eof, closed, secure;
  lp2p_privkey key;
  lp2p_mss *mss;
  lp2p_noise *noise;
  size_t received; /* bytes from the host, before decryption */
} th_raw;

/* Connects to `to` over TCP and runs the loop until connected. */
void th_raw_connect(th_raw *r, const th_node *to);
/* Also negotiates /noise and completes the handshake. */
void th_raw_upgrade(th_raw *r, const th_node *to);
/* Sends bytes as they are, or encrypted once upgraded. */
void th_raw_send(th_raw *r, const void *data, size_t len);
bool th_raw_eof(void *r);
void th_raw_close(th_raw *r);
