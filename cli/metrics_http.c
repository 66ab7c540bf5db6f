/* The metrics endpoint: a minimal HTTP/1.x responder on the node's own
 * loop. It answers GET /metrics with the node's metrics, rendered when
 * asked, and closes every connection after one answer. Prometheus needs
 * nothing more, and an HTTP library would cost a node more memory than
 * all its peers (libmicrohttpd brings GnuTLS along). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "metrics_http.h"

#define MAX_REQUEST 8192
#define MAX_CLIENTS 16
#define CLIENT_TIMEOUT_MS 5000

typedef struct client client;

struct cli_metrics {
  uv_loop_t *loop;
  lp2p_node *node;
  const node_output *out;
  uv_tcp_t server;
  client *clients; /* open ones, closed with the server */
  int nclients;
  bool server_closed;
};

struct client {
  client *next;
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_write_t write;
  cli_metrics *m;
  char request[MAX_REQUEST];
  size_t len;
  lp2p_buf response;
  int handles;
  bool answered;
};

/* The endpoint is freed when its server and every client are closed. */
static void maybe_free(cli_metrics *m) {
  if (m->server_closed && m->nclients == 0) {
    free(m);
  }
}

static void client_freed(uv_handle_t *h) {
  client *c = h->data;
  if (--c->handles == 0) {
    cli_metrics *m = c->m;
    for (client **p = &m->clients; *p; p = &(*p)->next) {
      if (*p == c) {
        *p = c->next;
        break;
      }
    }
    m->nclients--;
    lp2p_buf_free(&c->response);
    free(c);
    maybe_free(m);
  }
}

static void client_close(client *c) {
  if (!uv_is_closing((uv_handle_t *)&c->tcp)) {
    uv_close((uv_handle_t *)&c->tcp, client_freed);
    uv_close((uv_handle_t *)&c->timer, client_freed);
  }
}

static void on_written(uv_write_t *req, int status) {
  (void)status;
  client_close(req->data);
}

static void respond(client *c, const char *status, const char *type,
                    const void *body, size_t len) {
  char head[256];
  int n = snprintf(head, sizeof(head),
                   "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n",
                   status, type, len);
  c->answered = true;
  uv_read_stop((uv_stream_t *)&c->tcp);
  if (lp2p_buf_append(&c->response, head, (size_t)n) != 0 ||
      lp2p_buf_append(&c->response, body, len) != 0) {
    client_close(c);
    return;
  }
  uv_buf_t buf =
      uv_buf_init((char *)c->response.data, (unsigned)c->response.len);
  c->write.data = c;
  if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &buf, 1, on_written) != 0) {
    client_close(c);
  }
}

/* What the node's stdout dropped for a reader that fell behind. */
static int output_metrics(const node_output *out, lp2p_buf *text) {
  char m[512];
  int n = snprintf(
      m, sizeof(m),
      "# HELP libp2p_node_output_dropped_total lines dropped because stdout "
      "was not read fast enough\n"
      "# TYPE libp2p_node_output_dropped_total counter\n"
      "libp2p_node_output_dropped_total{kind=\"message\"} %llu\n"
      "libp2p_node_output_dropped_total{kind=\"event\"} %llu\n",
      (unsigned long long)out->dropped_messages,
      (unsigned long long)out->dropped_events);
  return n > 0 && (size_t)n < sizeof(m) ? lp2p_buf_append(text, m, (size_t)n)
                                        : LP2P_ERR_NOMEM;
}

/* The request line is all that matters: GET /metrics. */
static void answer(client *c) {
  if (strncmp(c->request, "GET /metrics ", 13) == 0 ||
      strncmp(c->request, "GET /metrics?", 13) == 0) {
    lp2p_buf text;
    lp2p_buf_init(&text, NULL);
    if (lp2p_node_metrics(c->m->node, &text) == 0 &&
        output_metrics(c->m->out, &text) == 0) {
      respond(c, "200 OK", "text/plain; version=0.0.4; charset=utf-8",
              text.data, text.len);
    } else {
      respond(c, "500 Internal Server Error", "text/plain", "", 0);
    }
    lp2p_buf_free(&text);
    return;
  }
  static const char nf[] = "not found: try /metrics\n";
  bool get = strncmp(c->request, "GET ", 4) == 0;
  respond(c, get ? "404 Not Found" : "405 Method Not Allowed", "text/plain", nf,
          sizeof(nf) - 1);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  client *c = h->data;
  *buf = uv_buf_init(c->request + c->len,
                     (unsigned)(sizeof(c->request) - 1 - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  (void)buf;
  client *c = s->data;
  if (n < 0 || c->answered) {
    if (!c->answered) {
      client_close(c);
    }
    return;
  }
  c->len += (size_t)n;
  c->request[c->len] = 0;
  if (strstr(c->request, "\r\n\r\n") || strstr(c->request, "\n\n")) {
    answer(c);
  } else if (c->len == sizeof(c->request) - 1) {
    respond(c, "431 Request Header Fields Too Large", "text/plain", "", 0);
  }
}

static void on_timeout(uv_timer_t *t) {
  client_close(t->data);
}

static void on_connection(uv_stream_t *server, int status) {
  cli_metrics *m = server->data;
  client *c = status == 0 ? calloc(1, sizeof(*c)) : NULL;
  if (!c) {
    return;
  }
  c->m = m;
  lp2p_buf_init(&c->response, NULL);
  uv_tcp_init(m->loop, &c->tcp);
  uv_timer_init(m->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->handles = 2;
  c->next = m->clients;
  m->clients = c;
  m->nclients++;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
      m->nclients > MAX_CLIENTS) {
    client_close(c);
    return;
  }
  uv_timer_start(&c->timer, on_timeout, CLIENT_TIMEOUT_MS, 0);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* HOST:PORT or [HOST]:PORT into a socket address. */
static int parse_addr(const char *addr, struct sockaddr_storage *sa) {
  char host[64];
  const char *colon = strrchr(addr, ':');
  if (!colon || (size_t)(colon - addr) >= sizeof(host) || colon[1] == 0) {
    return -1;
  }
  size_t hl = (size_t)(colon - addr);
  memcpy(host, addr, hl);
  host[hl] = 0;
  const char *digits = colon + 1;
  if (strspn(digits, "0123456789") != strlen(digits) || strlen(digits) > 5) {
    return -1; /* strtol would take a sign, blanks and overflow */
  }
  long port = strtol(digits, NULL, 10);
  if (port > 65535) {
    return -1;
  }
  if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
    host[hl - 1] = 0;
    return uv_ip6_addr(host + 1, (int)port, (struct sockaddr_in6 *)sa);
  }
  return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)sa);
}

cli_metrics *cli_metrics_start(uv_loop_t *loop, lp2p_node *node,
                               const node_output *out, const char *addr) {
  struct sockaddr_storage sa;
  memset(&sa, 0, sizeof(sa));
  if (parse_addr(addr, &sa) != 0) {
    cli_fail("--metrics takes HOST:PORT, e.g. 127.0.0.1:9090, not '%s'", addr);
    return NULL;
  }
  cli_metrics *m = calloc(1, sizeof(*m));
  if (!m) {
    cli_fail("out of memory");
    return NULL;
  }
  m->loop = loop;
  m->node = node;
  m->out = out;
  uv_tcp_init(loop, &m->server);
  m->server.data = m;
  int rv = uv_tcp_bind(&m->server, (struct sockaddr *)&sa, 0);
  if (rv == 0) {
    rv = uv_listen((uv_stream_t *)&m->server, 16, on_connection);
  }
  if (rv != 0) {
    cli_fail("cannot serve metrics on %s: %s", addr, uv_strerror(rv));
    cli_metrics_stop(m);
    return NULL;
  }
  return m;
}

static void server_closed(uv_handle_t *h) {
  cli_metrics *m = h->data;
  m->server_closed = true;
  maybe_free(m);
}

/* Closes the server and every client at once: the node they would read
 * is closing. */
void cli_metrics_stop(cli_metrics *m) {
  for (client *c = m->clients; c; c = c->next) {
    client_close(c);
  }
  uv_close((uv_handle_t *)&m->server, server_closed);
}
