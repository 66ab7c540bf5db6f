/* lp2p demo --graph: the demo network's meshes as an SVG picture. */
#ifndef LP2P_CLI_DEMO_GRAPH_H
#define LP2P_CLI_DEMO_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* What the picture shows: n nodes, their connections and meshes (n x n
 * matrices, row i for node i) and the mesh bounds nodes are coloured by. */
typedef struct demo_graph {
  size_t n;
  const bool *linked; /* a connection between i and j (symmetric) */
  const bool *mesh;   /* j is in i's mesh */
  int d, d_lo, d_hi;
  const char *title;
} demo_graph;

/* Nodes on a circle, connections in light grey, mesh links over them (a
 * solid line where each node has the other in its mesh, dashed where one
 * has), each node coloured by its mesh size against [d_lo, d_hi].
 * Returns 0, or -1 when writing failed. */
int demo_graph_write(FILE *f, const demo_graph *g);

#endif
