/* Validation admission. The router-wide bound (max_pending_validations)
 * keeps a slow validator from holding unbounded memory; a topic's bound
 * and rate (lp2p_router_set_topic_validation) keep one busy topic from
 * taking all of it, as go's per-topic validator concurrency does. What
 * is refused was not looked at: no penalty, the advertiser's promise is
 * kept (as go for both reasons) and the message is not marked seen, so a
 * later copy may be validated. */
#include <math.h>

#include "router.h"
#include "validation.h"

/* Tops the topic's bucket up for the time since it was last filled. */
static void refill(gs_topic *t, lp2p_tstamp now) {
  const lp2p_topic_validation *v = &t->validation;
  if (now > t->refilled) {
    t->tokens += v->rate * (double)(now - t->refilled) / 1e9;
    t->tokens = fmin(t->tokens, v->burst);
  }
  t->refilled = now;
}

static bool take_token(gs_topic *t, lp2p_tstamp now) {
  if (t->validation.rate <= 0) {
    return true;
  }
  refill(t, now);
  if (t->tokens < 1) {
    return false;
  }
  t->tokens -= 1;
  return true;
}

const char *lp2p_gs_validation_admit(lp2p_router *r, gs_topic *t,
                                     lp2p_tstamp now) {
  if (r->npending >= r->s.limits.max_pending_validations) {
    r->st.validation_overflow++;
    t->val_dropped_full++;
    return LP2P_TRACE_REJECT_VALIDATION_QUEUE_FULL;
  }
  size_t max = t->validation.max_pending;
  if (max > 0 && t->npending >= max) {
    r->st.validation_throttled++;
    t->val_dropped_pending++;
    return LP2P_TRACE_REJECT_VALIDATION_THROTTLED;
  }
  if (!take_token(t, now)) {
    r->st.validation_throttled++;
    t->val_dropped_rate++;
    return LP2P_TRACE_REJECT_VALIDATION_THROTTLED;
  }
  return NULL;
}

void lp2p_gs_validation_pending(lp2p_router *r, gs_topic *t) {
  r->npending++;
  t->npending++;
}

void lp2p_gs_validation_settled(lp2p_router *r, const gs_msg *m) {
  r->npending--;
  gs_topic *t = lp2p_gs_topic_find(r, m->f.topic.data, m->f.topic.len);
  if (t && t->npending > 0) { /* the topic may have been freed meanwhile */
    t->npending--;
  }
}

static bool valid_rate(double x) {
  return isfinite(x) && x >= 0;
}

int lp2p_router_set_topic_validation(lp2p_router *r, const uint8_t *topic,
                                     size_t len,
                                     const lp2p_topic_validation *v) {
  if (!v || !valid_rate(v->rate) || !valid_rate(v->burst) ||
      (v->burst > 0 && v->burst < 1) || len == 0 ||
      len > r->s.limits.max_topic_len) {
    return LP2P_ERR_INVALID_ARG;
  }
  gs_topic *t = lp2p_gs_topic_get(r, topic, len, true);
  if (!t) {
    return LP2P_ERR_NOMEM;
  }
  t->validation = *v;
  if (t->validation.burst == 0) {
    t->validation.burst = fmax(1, v->rate);
  }
  t->has_validation = v->max_pending > 0 || v->rate > 0;
  t->tokens = t->validation.burst;
  t->refilled = 0;
  lp2p_gs_topic_maybe_free(r, t);
  return 0;
}
