/*
 * keytool: the lp2p side of the js interop test of keys, signatures and
 * signed peer records. Bytes travel as lower-case hex on the command line
 * and on stdout.
 *
 *   keytool pubkey KEYFILE                  -> PublicKey protobuf hex
 *   keytool sign KEYFILE MSGHEX             -> signature hex
 *   keytool verify PUBKEYHEX MSGHEX SIGHEX  -> exit 0 valid, 1 invalid
 *   keytool record-seal KEYFILE SEQ MULTIADDR...  -> envelope hex
 *   keytool record-open ENVHEX  -> {"peer_id":..,"seq":"..","addrs":[..]}
 *
 * Exit status: 0 success, 1 rejected input (bad signature, bad envelope),
 * 2 usage or I/O error. The seq is printed as a decimal string because
 * JSON numbers lose precision above 2^53.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp2p/lp2p.h"

#define MAX_INPUT 16384

static int fail(int status, const char *what, int err) {
  fprintf(stderr, "keytool: %s: %s\n", what, lp2p_strerror(err));
  return status;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/* Appends the bytes of a hex string to `out`. */
static int unhex(const char *hex, lp2p_buf *out) {
  size_t n = strlen(hex);
  if (n % 2 != 0 || n / 2 > MAX_INPUT) {
    return LP2P_ERR_MALFORMED;
  }
  for (size_t i = 0; i < n; i += 2) {
    int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return LP2P_ERR_MALFORMED;
    }
    uint8_t b = (uint8_t)(hi << 4 | lo);
    if (lp2p_buf_append(out, &b, 1) != 0) {
      return LP2P_ERR_NOMEM;
    }
  }
  return 0;
}

static void print_hex(const uint8_t *in, size_t len) {
  for (size_t i = 0; i < len; i++) {
    printf("%02x", in[i]);
  }
  printf("\n");
}

static int load_key(const char *path, lp2p_privkey *key) {
  uint8_t data[MAX_INPUT];
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "keytool: cannot open '%s': %s\n", path, strerror(errno));
    return 2;
  }
  size_t n = fread(data, 1, sizeof(data), f);
  int bad = ferror(f) || !feof(f);
  fclose(f);
  if (bad) {
    fprintf(stderr, "keytool: cannot read '%s'\n", path);
    return 2;
  }
  int rv = lp2p_privkey_unmarshal(data, n, key);
  memset(data, 0, sizeof(data));
  return rv == 0 ? 0 : fail(2, "cannot load the key", rv);
}

static int cmd_pubkey(const char *keyfile) {
  lp2p_privkey key;
  lp2p_pubkey pub;
  uint8_t pb[LP2P_PUBKEY_PB_MAX];
  int rv = load_key(keyfile, &key);
  if (rv != 0) {
    return rv;
  }
  rv = lp2p_privkey_public(&key, &pub);
  lp2p_privkey_wipe(&key);
  if (rv == 0) {
    rv = lp2p_pubkey_marshal(&pub, pb, sizeof(pb));
  }
  if (rv < 0) {
    return fail(2, "cannot marshal the public key", rv);
  }
  print_hex(pb, (size_t)rv);
  return 0;
}

static int cmd_sign(const char *keyfile, const char *msghex) {
  lp2p_privkey key;
  uint8_t sig[LP2P_SIG_MAX];
  size_t sig_len = 0;
  lp2p_buf msg;
  lp2p_buf_init(&msg, NULL);
  int rv = unhex(msghex, &msg);
  if (rv != 0) {
    lp2p_buf_free(&msg);
    return fail(2, "bad MSGHEX", rv);
  }
  rv = load_key(keyfile, &key);
  if (rv == 0) {
    rv = lp2p_privkey_sign(&key, msg.data, msg.len, sig, &sig_len);
    lp2p_privkey_wipe(&key);
    rv = rv == 0 ? 0 : fail(2, "cannot sign", rv);
  }
  lp2p_buf_free(&msg);
  if (rv == 0) {
    print_hex(sig, sig_len);
  }
  return rv;
}

static int cmd_verify(const char *pubhex, const char *msghex,
                      const char *sighex) {
  lp2p_buf pb, msg, sig;
  lp2p_pubkey pub;
  lp2p_buf_init(&pb, NULL);
  lp2p_buf_init(&msg, NULL);
  lp2p_buf_init(&sig, NULL);
  int rv = unhex(pubhex, &pb);
  if (rv == 0) {
    rv = unhex(msghex, &msg);
  }
  if (rv == 0) {
    rv = unhex(sighex, &sig);
  }
  if (rv != 0) {
    rv = fail(2, "bad hex argument", rv);
  } else if ((rv = lp2p_pubkey_unmarshal(pb.data, pb.len, &pub)) != 0) {
    rv = fail(2, "bad public key", rv);
  } else if ((rv = lp2p_pubkey_verify(&pub, msg.data, msg.len, sig.data,
                                      sig.len)) != 0) {
    rv = fail(1, "signature rejected", rv);
  } else {
    printf("valid\n");
  }
  lp2p_buf_free(&pb);
  lp2p_buf_free(&msg);
  lp2p_buf_free(&sig);
  return rv;
}

static int parse_seq(const char *text, uint64_t *seq) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-') {
    return LP2P_ERR_MALFORMED;
  }
  *seq = (uint64_t)v;
  return 0;
}

/* Parses the text multiaddrs into one buffer, then points the record's
 * addresses into it (only once the buffer no longer moves). */
static int record_seal(const lp2p_privkey *key, uint64_t seq, int naddrs,
                       char **addrs, lp2p_buf *env) {
  lp2p_peer_record rec;
  lp2p_pubkey pub;
  lp2p_buf mas;
  lp2p_errdetail err;
  size_t ends[LP2P_PEER_RECORD_MAX_ADDRS];
  memset(&rec, 0, sizeof(rec));
  if (naddrs > LP2P_PEER_RECORD_MAX_ADDRS) {
    return fail(2, "too many addresses", LP2P_ERR_TOO_LARGE);
  }
  int rv = lp2p_privkey_public(key, &pub);
  if (rv == 0) {
    rv = lp2p_peer_id_from_pubkey(&pub, &rec.peer_id);
  }
  if (rv != 0) {
    return fail(2, "cannot derive the peer id", rv);
  }
  lp2p_buf_init(&mas, NULL);
  for (int i = 0; rv == 0 && i < naddrs; i++) {
    rv = lp2p_multiaddr_parse(addrs[i], &mas, &err);
    ends[i] = mas.len;
    if (rv != 0) {
      fprintf(stderr, "keytool: '%s': %s\n", addrs[i], err.msg);
    }
  }
  if (rv != 0) {
    lp2p_buf_free(&mas);
    return 2;
  }
  for (int i = 0; i < naddrs; i++) {
    size_t start = i == 0 ? 0 : ends[i - 1];
    rec.addrs[i].bytes = mas.data + start;
    rec.addrs[i].len = ends[i] - start;
  }
  rec.naddrs = (size_t)naddrs;
  rec.seq = seq;
  rv = lp2p_peer_record_seal(key, &rec, env);
  lp2p_buf_free(&mas);
  return rv == 0 ? 0 : fail(2, "cannot seal the record", rv);
}

static int cmd_record_seal(const char *keyfile, const char *seqtext, int naddrs,
                           char **addrs) {
  lp2p_privkey key;
  lp2p_buf env;
  uint64_t seq;
  int rv = parse_seq(seqtext, &seq);
  if (rv != 0) {
    return fail(2, "bad SEQ", rv);
  }
  if ((rv = load_key(keyfile, &key)) != 0) {
    return rv;
  }
  lp2p_buf_init(&env, NULL);
  rv = record_seal(&key, seq, naddrs, addrs, &env);
  lp2p_privkey_wipe(&key);
  if (rv == 0) {
    print_hex(env.data, env.len);
  }
  lp2p_buf_free(&env);
  return rv;
}

/* Prints a JSON string; multiaddr text is ASCII but may hold a quote in a
 * DNS name. */
static void print_json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') {
      printf("\\%c", *s);
    } else if ((unsigned char)*s < 0x20) {
      printf("\\u%04x", (unsigned)*s);
    } else {
      putchar(*s);
    }
  }
  putchar('"');
}

static int print_record(const lp2p_peer_record *rec) {
  char id[LP2P_PEER_ID_TEXT_MAX];
  int rv = lp2p_peer_id_to_base58(&rec->peer_id, id, sizeof(id));
  if (rv < 0) {
    return fail(2, "cannot format the peer id", rv);
  }
  printf("{\"peer_id\":\"%s\",\"seq\":\"%" PRIu64 "\",\"addrs\":[", id,
         rec->seq);
  for (size_t i = 0; i < rec->naddrs; i++) {
    lp2p_buf text;
    lp2p_buf_init(&text, NULL);
    rv = lp2p_multiaddr_format(rec->addrs[i].bytes, rec->addrs[i].len, &text,
                               NULL);
    if (rv != 0) {
      lp2p_buf_free(&text);
      return fail(2, "cannot format an address", rv);
    }
    if (i > 0) {
      putchar(',');
    }
    print_json_string((const char *)text.data);
    lp2p_buf_free(&text);
  }
  printf("],\"addrs_skipped\":%zu}\n", rec->addrs_skipped);
  return 0;
}

static int cmd_record_open(const char *envhex) {
  lp2p_buf in;
  lp2p_peer_record rec;
  lp2p_envelope env;
  lp2p_buf_init(&in, NULL);
  int rv = unhex(envhex, &in);
  if (rv != 0) {
    rv = fail(2, "bad ENVHEX", rv);
  } else if ((rv = lp2p_peer_record_open(in.data, in.len, &rec, &env)) != 0) {
    rv = fail(1, "record rejected", rv);
  } else {
    rv = print_record(&rec);
  }
  lp2p_buf_free(&in);
  return rv;
}

static int usage(void) {
  fputs("usage: keytool pubkey KEYFILE\n"
        "       keytool sign KEYFILE MSGHEX\n"
        "       keytool verify PUBKEYHEX MSGHEX SIGHEX\n"
        "       keytool record-seal KEYFILE SEQ MULTIADDR...\n"
        "       keytool record-open ENVHEX\n",
        stderr);
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    return usage();
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "pubkey") == 0 && argc == 3) {
    return cmd_pubkey(argv[2]);
  }
  if (strcmp(cmd, "sign") == 0 && argc == 4) {
    return cmd_sign(argv[2], argv[3]);
  }
  if (strcmp(cmd, "verify") == 0 && argc == 5) {
    return cmd_verify(argv[2], argv[3], argv[4]);
  }
  if (strcmp(cmd, "record-seal") == 0 && argc >= 4) {
    return cmd_record_seal(argv[2], argv[3], argc - 4, argv + 4);
  }
  if (strcmp(cmd, "record-open") == 0 && argc == 3) {
    return cmd_record_open(argv[2]);
  }
  return usage();
}
