/* ping (ping/ping.md): the dialer sends 32 random bytes and times their
 * echo; the listener echoes every 32-byte payload. One object per stream,
 * no allocation beyond itself. */
#include <string.h>

#include "base/mem.h"
#include "lp2p/noise.h"

struct lp2p_ping {
  const lp2p_mem *mem;
  lp2p_ping_callbacks cb;
  void *user;
  bool dialer;
  bool failed;
  lp2p_tstamp timeout;
  lp2p_rand_fn rand_fn;
  void *rand_user;
  /* dialer: the payload in flight */
  bool outstanding;
  bool sent; /* pulled, so the round trip clock runs */
  lp2p_tstamp deadline, sent_at;
  uint8_t payload[LP2P_PING_SIZE];
  /* received bytes of the current payload or echo */
  uint8_t in[LP2P_PING_SIZE];
  size_t in_len;
  /* bytes for the stream: a dialer's payload or a listener's echoes */
  uint8_t out[LP2P_PING_MAX_BACKLOG * LP2P_PING_SIZE];
  size_t out_len;
  bool out_pulled;
};

int lp2p_ping_new(lp2p_ping **out, const lp2p_ping_settings *s,
                  const lp2p_ping_callbacks *cb, const lp2p_mem *mem,
                  void *user) {
  if (!s || (s->role != LP2P_PING_DIALER && s->role != LP2P_PING_LISTENER) ||
      (s->role == LP2P_PING_DIALER && !s->rand_fn)) {
    return LP2P_ERR_INVALID_ARG;
  }
  lp2p_ping *p = lp2p_calloc(mem, 1, sizeof(*p));
  if (!p) {
    return LP2P_ERR_NOMEM;
  }
  p->mem = mem;
  p->user = user;
  if (cb) {
    p->cb = *cb;
  }
  p->dialer = s->role == LP2P_PING_DIALER;
  p->timeout = s->timeout ? s->timeout : LP2P_PING_DEFAULT_TIMEOUT;
  p->rand_fn = s->rand_fn;
  p->rand_user = s->rand_user;
  *out = p;
  return 0;
}

void lp2p_ping_del(lp2p_ping *p) {
  if (p) {
    lp2p_free(p->mem, p);
  }
}

static int fail(lp2p_ping *p, int err) {
  p->failed = true;
  p->outstanding = false;
  return err;
}

static void reclaim(lp2p_ping *p) {
  if (p->out_pulled) {
    p->out_len = 0;
    p->out_pulled = false;
  }
}

int lp2p_ping_start(lp2p_ping *p, lp2p_tstamp now) {
  if (!p->dialer || p->outstanding || p->failed) {
    return LP2P_ERR_STATE;
  }
  reclaim(p);
  p->rand_fn(p->payload, LP2P_PING_SIZE, p->rand_user);
  memcpy(p->out + p->out_len, p->payload, LP2P_PING_SIZE);
  p->out_len += LP2P_PING_SIZE;
  p->outstanding = true;
  p->sent = false;
  p->in_len = 0;
  p->deadline = p->timeout > LP2P_TSTAMP_NEVER - now ? LP2P_TSTAMP_NEVER
                                                     : now + p->timeout;
  return 0;
}

/* A whole payload (listener) or echo (dialer) is in p->in. */
static int on_full(lp2p_ping *p, lp2p_tstamp now) {
  p->in_len = 0;
  if (!p->dialer) {
    if (p->out_len == sizeof(p->out)) {
      return LP2P_ERR_TOO_LARGE; /* pinging faster than it reads echoes */
    }
    memcpy(p->out + p->out_len, p->in, LP2P_PING_SIZE);
    p->out_len += LP2P_PING_SIZE;
    return 0;
  }
  if (memcmp(p->in, p->payload, LP2P_PING_SIZE) != 0) {
    return LP2P_ERR_PROTOCOL;
  }
  p->outstanding = false;
  if (p->cb.pong) {
    p->cb.pong(p, now > p->sent_at ? now - p->sent_at : 0, p->user);
  }
  return 0;
}

int lp2p_ping_recv(lp2p_ping *p, const uint8_t *in, size_t len,
                   lp2p_tstamp now) {
  if (p->failed) {
    return LP2P_ERR_STATE;
  }
  reclaim(p);
  while (len > 0) {
    /* an echo can only follow a payload that went out */
    if (p->dialer && (!p->outstanding || !p->sent)) {
      return fail(p, LP2P_ERR_PROTOCOL);
    }
    size_t take = LP2P_PING_SIZE - p->in_len;
    take = take < len ? take : len;
    memcpy(p->in + p->in_len, in, take);
    p->in_len += take;
    in += take;
    len -= take;
    if (p->in_len == LP2P_PING_SIZE) {
      int rv = on_full(p, now);
      if (rv != 0) {
        return fail(p, rv);
      }
    }
  }
  return 0;
}

ssize_t lp2p_ping_pull(lp2p_ping *p, const uint8_t **out, lp2p_tstamp now) {
  *out = NULL;
  if (p->failed) {
    return LP2P_ERR_STATE;
  }
  reclaim(p);
  if (p->out_len == 0) {
    return 0;
  }
  if (p->dialer && p->outstanding && !p->sent) {
    p->sent = true;
    p->sent_at = now;
  }
  *out = p->out;
  p->out_pulled = true;
  return (ssize_t)p->out_len;
}

lp2p_tstamp lp2p_ping_expiry(const lp2p_ping *p) {
  return p->outstanding ? p->deadline : LP2P_TSTAMP_NEVER;
}

int lp2p_ping_handle_expiry(lp2p_ping *p, lp2p_tstamp now) {
  if (p->failed) {
    return LP2P_ERR_STATE;
  }
  if (p->outstanding && p->deadline != LP2P_TSTAMP_NEVER &&
      now >= p->deadline) {
    return fail(p, LP2P_ERR_TIMEOUT);
  }
  return 0;
}
