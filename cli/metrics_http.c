/* The metrics endpoint: see metrics_http.h. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "metrics_http.h"

#define REFRESH_MS 1000

struct cli_metrics {
  lp2p_node *node;
  uv_timer_t timer;
  struct MHD_Daemon *daemon;
  pthread_mutex_t lock;
  lp2p_buf snapshot; /* guarded by lock */
};

static void refresh(uv_timer_t *t) {
  cli_metrics *m = t->data;
  lp2p_buf text;
  lp2p_buf_init(&text, NULL);
  if (lp2p_node_metrics(m->node, &text) != 0) {
    lp2p_buf_free(&text);
    return;
  }
  pthread_mutex_lock(&m->lock);
  lp2p_buf old = m->snapshot;
  m->snapshot = text;
  pthread_mutex_unlock(&m->lock);
  lp2p_buf_free(&old);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *upload,
                              size_t *upload_size, void **state) {
  (void)version;
  (void)upload;
  (void)upload_size;
  (void)state;
  cli_metrics *m = cls;
  struct MHD_Response *r;
  unsigned status = MHD_HTTP_OK;
  if (strcmp(method, "GET") != 0 || strcmp(url, "/metrics") != 0) {
    static const char nf[] = "not found: try /metrics\n";
    status = MHD_HTTP_NOT_FOUND;
    r = MHD_create_response_from_buffer(sizeof(nf) - 1, (void *)nf,
                                        MHD_RESPMEM_PERSISTENT);
  } else {
    pthread_mutex_lock(&m->lock);
    r = MHD_create_response_from_buffer(m->snapshot.len, m->snapshot.data,
                                        MHD_RESPMEM_MUST_COPY);
    pthread_mutex_unlock(&m->lock);
    MHD_add_response_header(r, "Content-Type",
                            "text/plain; version=0.0.4; charset=utf-8");
  }
  enum MHD_Result rv = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return rv;
}

/* HOST:PORT or [HOST]:PORT into a socket address. */
static int parse_addr(const char *addr, struct sockaddr_storage *sa) {
  char host[64];
  const char *colon = strrchr(addr, ':');
  if (!colon || (size_t)(colon - addr) >= sizeof(host)) {
    return -1;
  }
  size_t hl = (size_t)(colon - addr);
  memcpy(host, addr, hl);
  host[hl] = 0;
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end || port < 0 || port > 65535 || colon[1] == 0) {
    return -1;
  }
  memset(sa, 0, sizeof(*sa));
  if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
    host[hl - 1] = 0;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    return inet_pton(AF_INET6, host + 1, &in6->sin6_addr) == 1 ? 0 : -1;
  }
  struct sockaddr_in *in = (struct sockaddr_in *)sa;
  in->sin_family = AF_INET;
  in->sin_port = htons((uint16_t)port);
  return inet_pton(AF_INET, host, &in->sin_addr) == 1 ? 0 : -1;
}

cli_metrics *cli_metrics_start(uv_loop_t *loop, lp2p_node *node,
                               const char *addr) {
  struct sockaddr_storage sa;
  if (parse_addr(addr, &sa) != 0) {
    cli_fail("--metrics takes HOST:PORT, e.g. 127.0.0.1:9090, not '%s'", addr);
    return NULL;
  }
  cli_metrics *m = calloc(1, sizeof(*m));
  if (!m) {
    cli_fail("out of memory");
    return NULL;
  }
  m->node = node;
  lp2p_buf_init(&m->snapshot, NULL);
  pthread_mutex_init(&m->lock, NULL);
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
  if (sa.ss_family == AF_INET6) {
    flags |= MHD_USE_IPv6;
  }
  m->daemon =
      MHD_start_daemon(flags, 0, NULL, NULL, answer, m, MHD_OPTION_SOCK_ADDR,
                       (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT, 16u,
                       MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
  if (!m->daemon) {
    cli_fail("cannot serve metrics on %s (address in use?)", addr);
    pthread_mutex_destroy(&m->lock);
    free(m);
    return NULL;
  }
  uv_timer_init(loop, &m->timer);
  m->timer.data = m;
  refresh(&m->timer);
  uv_timer_start(&m->timer, refresh, REFRESH_MS, REFRESH_MS);
  return m;
}

static void on_timer_closed(uv_handle_t *h) {
  cli_metrics *m = h->data;
  pthread_mutex_destroy(&m->lock);
  lp2p_buf_free(&m->snapshot);
  free(m);
}

void cli_metrics_stop(cli_metrics *m) {
  MHD_stop_daemon(m->daemon);
  uv_close((uv_handle_t *)&m->timer, on_timer_closed);
}
