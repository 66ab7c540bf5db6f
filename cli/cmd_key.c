/* lp2p key new | id: make and inspect identity key files. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define DEFAULT_KEY_FILE "lp2p.key"

static int print_peer_id(const lp2p_privkey *key) {
  lp2p_pubkey pub;
  lp2p_peer_id id;
  char text[LP2P_PEER_ID_TEXT_MAX];
  int rv = lp2p_privkey_public(key, &pub);
  if (rv == 0) {
    rv = lp2p_peer_id_from_pubkey(&pub, &id);
  }
  if (rv == 0) {
    rv = lp2p_peer_id_to_base58(&id, text, sizeof(text));
  }
  if (rv < 0) {
    return cli_fail("cannot derive the peer id: %s", lp2p_strerror(rv));
  }
  printf("%s\n", text);
  return 0;
}

static int key_new(int argc, char **argv) {
  const char *out = DEFAULT_KEY_FILE, *type_name = "ed25519";
  for (int i = 0; i < argc; i++) {
    if ((strcmp(argv[i], "--type") == 0 || strcmp(argv[i], "-t") == 0) &&
        i + 1 < argc) {
      type_name = argv[++i];
    } else if ((strcmp(argv[i], "-o") == 0 ||
                strcmp(argv[i], "--output") == 0) &&
               i + 1 < argc) {
      out = argv[++i];
    } else {
      return cli_usage_error(&cli_cmd_key, "unexpected argument");
    }
  }
  lp2p_key_type type;
  if (strcmp(type_name, "ed25519") == 0) {
    type = LP2P_KEY_ED25519;
  } else if (strcmp(type_name, "secp256k1") == 0) {
    type = LP2P_KEY_SECP256K1;
  } else {
    return cli_fail("unknown key type '%s' (use ed25519 or secp256k1)",
                    type_name);
  }
  lp2p_privkey key;
  lp2p_buf buf;
  lp2p_buf_init(&buf, NULL);
  int rv = lp2p_privkey_generate(type, lp2p_host_rand, NULL, &key);
  if (rv == 0) {
    rv = lp2p_privkey_marshal(&key, &buf);
  }
  if (rv != 0) {
    rv = cli_fail("cannot make a key: %s", lp2p_strerror(rv));
  } else {
    rv = cli_write_secret_file(out, buf.data, buf.len);
  }
  if (rv == 0) {
    rv = print_peer_id(&key);
  }
  lp2p_privkey_wipe(&key);
  if (buf.data) {
    memset(buf.data, 0, buf.len);
  }
  lp2p_buf_free(&buf);
  return rv;
}

static int key_id(int argc, char **argv) {
  if (argc != 1) {
    return cli_usage_error(&cli_cmd_key, "key id takes one FILE");
  }
  lp2p_privkey key;
  int rv = cli_load_key(argv[0], &key);
  if (rv == 0) {
    rv = print_peer_id(&key);
  }
  lp2p_privkey_wipe(&key);
  return rv;
}

static int run_key(int argc, char **argv) {
  if (argc < 1) {
    return cli_usage_error(&cli_cmd_key, "missing subcommand");
  }
  if (strcmp(argv[0], "new") == 0) {
    return key_new(argc - 1, argv + 1);
  }
  if (strcmp(argv[0], "id") == 0) {
    return key_id(argc - 1, argv + 1);
  }
  return cli_usage_error(&cli_cmd_key, "unknown subcommand");
}

const cli_command cli_cmd_key = {
    "key",
    "make an identity key file, or print the peer id of one",
    "usage:\n"
    "  lp2p key new [--type ed25519|secp256k1] [-o FILE]\n"
    "  lp2p key id FILE\n"
    "\n"
    "key new   makes a new private key and writes it to FILE (default\n"
    "          " DEFAULT_KEY_FILE ", mode 0600; an existing file is never\n"
    "          overwritten) in go-libp2p's MarshalPrivateKey format, the\n"
    "          format of go-libp2p, js-libp2p and IPFS key files. Prints the\n"
    "          peer id. The default type is ed25519.\n"
    "key id    prints the peer id of the private key in FILE.\n",
    run_key,
    NULL,
};
