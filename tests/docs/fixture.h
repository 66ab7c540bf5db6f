/*
 * fixture: a tiny header for the apidoc tests, one symbol of each kind the
 * checker knows, all documented but the ones named undoc_*.
 */
#ifndef FIXTURE_H
#define FIXTURE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks exported functions (read through the #if). */
#if defined(LP2P_BUILDING)
#define LP2P_API __attribute__((visibility("default")))
#else
#define LP2P_API
#endif

/* Two constants under one comment. */
#define LP2P_FIX_A 1
#define LP2P_FIX_B 2

#define LP2P_FIX_TRAILING 3 /* documented on its line */

/* ---- a section title alone documents nothing ---- */
#define LP2P_FIX_UNDOC_TITLED 4

/* A blank line separates this comment from what follows. */

#define LP2P_FIX_UNDOC_SPACED 5

/* An opaque handle. */
typedef struct lp2p_fix lp2p_fix;

typedef struct lp2p_fix_undoc_opaque lp2p_fix_undoc_opaque;

/* A struct whose fields carry comments. */
typedef struct lp2p_fix_settings {
  int before_only;
  /* said above the field */
  int commented_above;
  size_t trailing; /* said after the field */
} lp2p_fix_settings;

/* The colours. */
typedef enum lp2p_fix_colour {
  LP2P_FIX_RED = 0, /* warm */
  LP2P_FIX_BLUE = 1 /* cold */
} lp2p_fix_colour;

/* Called with each item. */
typedef void (*lp2p_fix_cb)(int item, void *user);

/* Creates a fixture. Returns 0 or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_fix_new(lp2p_fix **out, const lp2p_fix_settings *s);
LP2P_API void lp2p_fix_undoc_del(lp2p_fix *f);

/* Not public (no lp2p_ prefix): never flagged. */
int helper(void);
int other_helper(void);

#ifdef __cplusplus
}
#endif

#endif /* FIXTURE_H */
