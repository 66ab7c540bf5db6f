/* The network subcommands' shared part: see net.h. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

int cli_parse_security(const char *v, lp2p_security *out) {
  if (strcmp(v, "noise") == 0) {
    *out = LP2P_SECURITY_NOISE;
  } else if (strcmp(v, "tls") == 0) {
    *out = LP2P_SECURITY_TLS;
  } else if (strcmp(v, "any") == 0) {
    *out = LP2P_SECURITY_ALL;
  } else {
    return -1;
  }
  return 0;
}

int cli_net_option(const cli_command *cmd, int argc, char **argv, int *i,
                   cli_net_opts *o) {
  const char *name = argv[*i];
  bool known = strcmp(name, "--key") == 0 || strcmp(name, "--muxer") == 0 ||
               strcmp(name, "--security") == 0 ||
               strcmp(name, "--timeout") == 0;
  if (!known) {
    return 0;
  }
  if (*i + 1 >= argc) {
    return cli_missing_value(cmd, name);
  }
  const char *v = argv[++*i];
  if (strcmp(name, "--key") == 0) {
    o->key_path = v;
  } else if (strcmp(name, "--muxer") == 0) {
    if (strcmp(v, "yamux") == 0) {
      o->muxers = LP2P_MUXERS_YAMUX;
    } else if (strcmp(v, "mplex") == 0) {
      o->muxers = LP2P_MUXERS_MPLEX;
    } else if (strcmp(v, "any") == 0) {
      o->muxers = LP2P_MUXERS_ALL;
    } else {
      return cli_usage_error(cmd, "--muxer takes yamux, mplex or any");
    }
  } else if (strcmp(name, "--security") == 0) {
    if (cli_parse_security(v, &o->security) != 0) {
      return cli_usage_error(cmd, "--security takes noise, tls or any");
    }
  } else {
    /* a day: more is a typo, and the milliseconds stay exact */
    return cli_parse_decimal(cmd, "--timeout", v, 0, 86400, &o->timeout_s) ? 2
                                                                           : 1;
  }
  return 1;
}

static void on_deadline(uv_timer_t *t) {
  cli_net *n = t->data;
  cli_fail("timed out");
  cli_net_stop(n, 1);
}

static void on_signal(uv_signal_t *s, int signum) {
  cli_net *n = s->data;
  if (n->interrupted_fails) {
    cli_fail("interrupted by %s", signum == SIGINT ? "SIGINT" : "SIGTERM");
  }
  cli_net_stop(n, n->interrupted_fails ? 128 + signum : 0);
}

int cli_net_start(cli_net *n, const cli_net_opts *o,
                  const lp2p_host_callbacks *cb, void *user) {
  memset(n, 0, sizeof(*n));
  lp2p_host_settings s;
  lp2p_host_settings_default(&s);
  cli_connlimits_set(&o->limits, &s); /* checked by the command */
  if (o->key_path) {
    if (cli_load_key(o->key_path, &n->key) != 0) {
      return 1;
    }
  } else if (lp2p_privkey_generate(LP2P_KEY_ED25519, lp2p_host_rand, NULL,
                                   &n->key) != 0) {
    return cli_fail("cannot make a key");
  }
  if (uv_loop_init(&n->loop) != 0) {
    return cli_fail("cannot start the event loop");
  }
  s.key = &n->key;
  s.muxers = o->muxers;
  s.security = o->security;
  int rv = lp2p_host_new(&n->host, &n->loop, &s, cb, NULL, user);
  lp2p_privkey_wipe(&n->key);
  if (rv != 0) {
    uv_loop_close(&n->loop);
    return cli_fail("cannot start the host: %s", lp2p_strerror(rv));
  }
  uv_timer_init(&n->loop, &n->deadline);
  n->deadline.data = n;
  if (o->timeout_s > 0) {
    uv_timer_start(&n->deadline, on_deadline, (uint64_t)(o->timeout_s * 1e3),
                   0);
  }
  uv_signal_init(&n->loop, &n->sigint);
  uv_signal_init(&n->loop, &n->sigterm);
  n->sigint.data = n->sigterm.data = n;
  /* one-shot: the signal's default action is back as soon as it arrives,
   * so a second one ends even a process wedged in a write to stdout */
  uv_signal_start_oneshot(&n->sigint, on_signal, SIGINT);
  uv_signal_start_oneshot(&n->sigterm, on_signal, SIGTERM);
  return 0;
}

void cli_ignore_stop_signals(void) {
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
}

void cli_net_stop(cli_net *n, int status) {
  if (n->stopping) {
    return;
  }
  n->stopping = true;
  n->status = status;
  uv_close((uv_handle_t *)&n->deadline, NULL);
  uv_close((uv_handle_t *)&n->sigint, NULL);
  uv_close((uv_handle_t *)&n->sigterm, NULL); /* restores SIG_DFL */
  if (n->on_stop) {
    n->on_stop(n->user);
  }
  lp2p_host_close(n->host, NULL, NULL);
}

int cli_net_run(cli_net *n) {
  uv_run(&n->loop, UV_RUN_DEFAULT);
  uv_loop_close(&n->loop);
  fflush(stdout);
  return n->status;
}

int cli_parse_multiaddr(const char *text, lp2p_buf *out) {
  lp2p_errdetail err;
  int rv = lp2p_multiaddr_parse(text, out, &err);
  if (rv != 0) {
    lp2p_buf_free(out);
    return cli_fail("'%s' is not a multiaddr: %s", text, err.msg);
  }
  return 0;
}

/* The length of the valid UTF-8 sequence at p (1 to 4), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t avail) {
  size_t n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
  if (n == 0 || p[0] > 0xf4 || n > avail) {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80) {
      return 0;
    }
  }
  /* overlong three- and four-byte forms, surrogates, beyond U+10FFFF */
  if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0) ||
      (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90)) {
    return 0;
  }
  return n;
}

bool cli_is_utf8(const void *s, size_t len) {
  const unsigned char *p = s;
  for (size_t i = 0; i < len;) {
    if (p[i] < 0x80) {
      i++;
      continue;
    }
    size_t n = utf8_seq(p + i, len - i);
    if (n == 0) {
      return false;
    }
    i += n;
  }
  return true;
}

void cli_json_hex(FILE *f, const void *s, size_t len) {
  static const char digits[] = "0123456789abcdef";
  const unsigned char *p = s;
  char chunk[256];
  fputc('"', f);
  for (size_t i = 0; i < len;) {
    size_t n = 0;
    for (; i < len && n < sizeof(chunk); i++) {
      chunk[n++] = digits[p[i] >> 4];
      chunk[n++] = digits[p[i] & 15];
    }
    fwrite(chunk, 1, n, f);
  }
  fputc('"', f);
}

void cli_json_string(FILE *f, const void *s, size_t len) {
  const unsigned char *p = s;
  fputc('"', f);
  for (size_t i = 0; i < len;) {
    size_t plain = i; /* a run that needs no escaping goes in one write */
    while (plain < len && p[plain] >= 0x20 && p[plain] < 0x7f &&
           p[plain] != '"' && p[plain] != '\\') {
      plain++;
    }
    if (plain > i) {
      fwrite(p + i, 1, plain - i, f);
      i = plain;
      continue;
    }
    unsigned char ch = p[i];
    if (ch >= 0x80) { /* a remote's text may be anything: keep JSON valid */
      size_t n = utf8_seq(p + i, len - i);
      if (n == 0) {
        fputs("\\ufffd", f);
        i++;
      } else {
        fwrite(p + i, 1, n, f);
        i += n;
      }
      continue;
    }
    if (ch == '"' || ch == '\\') {
      fprintf(f, "\\%c", ch);
    } else {
      fprintf(f, "\\u%04x", ch);
    }
    i++;
  }
  fputc('"', f);
}

void cli_json_multiaddr(FILE *f, const uint8_t *ma, size_t len) {
  lp2p_buf text;
  lp2p_buf_init(&text, NULL);
  if (lp2p_multiaddr_format(ma, len, &text, NULL) == 0) {
    cli_json_string(f, text.data, strlen((const char *)text.data));
  } else {
    fputs("null", f);
  }
  lp2p_buf_free(&text);
}

void cli_peer_text(const lp2p_peer_id *id, char *out) {
  if (lp2p_peer_id_to_base58(id, out, LP2P_PEER_ID_TEXT_MAX) < 0) {
    strcpy(out, "?");
  }
}

/* ---- identify as JSON ---- */

static void print_list(const char *name, const lp2p_bytes *items, size_t n,
                       bool multiaddrs) {
  printf(",\"%s\":[", name);
  for (size_t i = 0; i < n; i++) {
    if (i > 0) {
      putchar(',');
    }
    if (multiaddrs) {
      cli_json_multiaddr(stdout, items[i].data, items[i].len);
    } else {
      cli_json_string(stdout, items[i].data, items[i].len);
    }
  }
  putchar(']');
}

void cli_print_identify(lp2p_conn *c, const lp2p_identify *id,
                        const char *event) {
  char peer[LP2P_PEER_ID_TEXT_MAX];
  cli_peer_text(lp2p_conn_peer_id(c), peer);
  printf("{");
  if (event) {
    printf("\"event\":\"%s\",", event);
  }
  printf("\"peer_id\":\"%s\",\"agent_version\":", peer);
  cli_json_string(stdout, id->agent_version.data, id->agent_version.len);
  printf(",\"protocol_version\":");
  cli_json_string(stdout, id->protocol_version.data, id->protocol_version.len);
  print_list("protocols", id->protocols, id->nprotocols, false);
  print_list("listen_addrs", id->listen_addrs, id->naddrs, true);
  printf(",\"observed_addr\":");
  if (id->observed_addr.data) {
    cli_json_multiaddr(stdout, id->observed_addr.data, id->observed_addr.len);
  } else {
    printf("null");
  }
  lp2p_identify_verified v;
  bool signed_ok = lp2p_identify_verify(id, lp2p_conn_peer_id(c), &v) == 0 &&
                   v.has_record && v.record_error == 0;
  printf(",\"signed_peer_record\":%s}\n", signed_ok ? "true" : "false");
}

void cli_key_from_seed(uint32_t n, lp2p_privkey *key) {
  uint8_t seed[32] = {0};
  for (int i = 0; i < 4; i++) {
    seed[i] = (uint8_t)(n >> (8 * i));
  }
  (void)lp2p_privkey_from_seed(LP2P_KEY_ED25519, seed, key);
}
