/* lp2p: the command line entry point and its help. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_command *const commands[] = {
    &cli_cmd_demo, &cli_cmd_node,     &cli_cmd_key, &cli_cmd_listen,
    &cli_cmd_ping, &cli_cmd_identify, &cli_cmd_sim, &cli_cmd_interop,
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_help(FILE *out) {
  fprintf(out,
          "lp2p %s: a libp2p GossipSub node\n\n"
          "usage: lp2p COMMAND [ARGS]\n\ncommands:\n",
          LP2P_VERSION);
  for (size_t i = 0; i < NCOMMANDS; i++) {
    fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
  }
  fprintf(out, "  %-10s %s\n", "help", "describe a command: lp2p help COMMAND");
  fprintf(out,
          "\nConnections are TCP secured by Noise or libp2p TLS (/tls/1.0.0,\n"
          "TLS 1.3): listen, node, ping and identify take --security\n"
          "noise|tls|any (default any: Noise proposed first).\n");
  fprintf(out, "\nlp2p --version prints the version.\n");
}

static const cli_command *find_command(const char *name) {
  for (size_t i = 0; i < NCOMMANDS; i++) {
    if (strcmp(commands[i]->name, name) == 0) {
      return commands[i];
    }
  }
  return NULL;
}

static int help(int argc, char **argv) {
  if (argc == 0) {
    print_help(stdout);
    return 0;
  }
  if (strcmp(argv[0], "help") == 0) {
    printf("usage: lp2p help [COMMAND]\n\nDescribes COMMAND, or lists the "
           "commands.\n");
    return 0;
  }
  const cli_command *cmd = find_command(argv[0]);
  if (!cmd) {
    return cli_fail("unknown command '%s'; lp2p --help lists them", argv[0]);
  }
  printf("lp2p %s: %s\n\n%s%s", cmd->name, cmd->summary, cmd->usage,
         cmd->more ? cmd->more : "");
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || cli_is_help(argv[1])) {
    print_help(stdout);
    return 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("lp2p %s\n", LP2P_VERSION);
    return 0;
  }
  if (strcmp(argv[1], "help") == 0) {
    return help(argc - 2, argv + 2);
  }
  const cli_command *cmd = find_command(argv[1]);
  if (!cmd) {
    return cli_fail("unknown command '%s'; lp2p --help lists them", argv[1]);
  }
  if (argc > 2 && cli_is_help(argv[2])) {
    return help(1, argv + 1);
  }
  return cmd->run(argc - 2, argv + 2);
}
