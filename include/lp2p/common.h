/*
 * lp2p: common types shared by every layer: errors, allocator hooks, time
 * stamps, the randomness callback and error details.
 */
#ifndef LP2P_COMMON_H
#define LP2P_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the exported functions: default visibility when building
 * liblp2p (which hides everything else), nothing for its users. */
#if defined(LP2P_BUILDING) && defined(__GNUC__)
#define LP2P_API __attribute__((visibility("default")))
#else
#define LP2P_API
#endif

/* Time in nanoseconds on a clock chosen by the host; only differences
 * matter. */
typedef uint64_t lp2p_tstamp;
/* A deadline that never comes, and a millisecond and a second in
 * lp2p_tstamp units. */
#define LP2P_TSTAMP_NEVER UINT64_MAX
#define LP2P_MILLISECONDS ((lp2p_tstamp)1000000)
#define LP2P_SECONDS ((lp2p_tstamp)1000000000)

/* Error codes: 0 is success, every failure is negative. */
enum {
  LP2P_OK = 0,
  LP2P_ERR_NOMEM = -1,             /* an allocation failed */
  LP2P_ERR_INVALID_ARG = -2,       /* the caller passed a bad argument */
  LP2P_ERR_TRUNCATED = -3,         /* input ended inside an item */
  LP2P_ERR_OVERLONG = -4,          /* non-minimal or too-long encoding */
  LP2P_ERR_MALFORMED = -5,         /* input does not follow the format */
  LP2P_ERR_TRAILING = -6,          /* bytes left after a complete item */
  LP2P_ERR_TOO_LARGE = -7,         /* an item exceeds a configured limit */
  LP2P_ERR_UNSUPPORTED = -8,       /* well-formed but not supported */
  LP2P_ERR_UNKNOWN_PROTOCOL = -9,  /* unknown multiaddr protocol */
  LP2P_ERR_BAD_SIGNATURE = -10,    /* a signature does not verify */
  LP2P_ERR_BAD_KEY = -11,          /* a key is not a valid key of its type */
  LP2P_ERR_BUFFER_TOO_SMALL = -12, /* the output buffer is too small */
  LP2P_ERR_WRONG_TYPE = -13,       /* wrong wire, key or payload type */
  LP2P_ERR_PEER_ID_MISMATCH = -14, /* a key does not match a peer id */
  LP2P_ERR_NOT_FOUND = -15,        /* the item asked for is absent */
  LP2P_ERR_IO = -16,               /* a system call failed (host only) */
  LP2P_ERR_CRYPTO = -17,           /* the crypto library failed */
  LP2P_ERR_STATE = -18,            /* not allowed in the current state */
  LP2P_ERR_TIMEOUT = -19,          /* a deadline passed */
  LP2P_ERR_PROTOCOL = -20,         /* the remote broke the protocol */
  LP2P_ERR_NOT_SENT = -21,         /* no peer could take it (none, or full) */
  LP2P_ERR_CLOSED = -22,           /* the remote closed the connection */
};
/* The lowest error code, for iterating over them. */
#define LP2P_ERR_LAST LP2P_ERR_CLOSED

/* A static English description of an error code; never NULL. */
LP2P_API const char *lp2p_strerror(int err);

/*
 * Allocator hooks. Every object takes a `const lp2p_mem *`; NULL means the
 * C library's allocator. `realloc` must behave like C's realloc.
 */
typedef struct lp2p_mem {
  void *user;
  void *(*malloc)(size_t size, void *user);
  void (*free)(void *ptr, void *user);
  void *(*calloc)(size_t nmemb, size_t size, void *user);
  void *(*realloc)(void *ptr, size_t size, void *user);
} lp2p_mem;

/* The C library's allocator as an lp2p_mem. */
LP2P_API const lp2p_mem *lp2p_mem_default(void);

/*
 * Randomness callback: fill `dest` with `len` random bytes. The core never
 * reads a random source itself; keys need a CSPRNG here, the rest only
 * seeds per-object PCGs and hash tables from it.
 */
typedef void (*lp2p_rand_fn)(uint8_t *dest, size_t len, void *user);

/*
 * Optional human-readable detail of why a parser or validator refused its
 * input, e.g. "unknown multiaddr protocol 'foo'". Functions that accept a
 * `lp2p_errdetail *` fill it on failure when it is not NULL.
 */
typedef struct lp2p_errdetail {
  char msg[160];
} lp2p_errdetail;

/* A view of bytes owned by someone else; `data` is NULL for an absent
 * field and non-NULL (possibly with len 0) for a present one. */
typedef struct lp2p_bytes {
  const uint8_t *data;
  size_t len;
} lp2p_bytes;

/*
 * A growable byte buffer. Functions that produce bytes of unbounded size
 * append to one. Initialise with lp2p_buf_init (or zero it and set `mem`),
 * release with lp2p_buf_free.
 */
typedef struct lp2p_buf {
  uint8_t *data;
  size_t len;
  size_t cap;
  const lp2p_mem *mem;
} lp2p_buf;

/* An empty buffer that allocates with `mem` (NULL: the C library). */
LP2P_API void lp2p_buf_init(lp2p_buf *buf, const lp2p_mem *mem);
/* Frees the storage; the buffer is empty and reusable afterwards. */
LP2P_API void lp2p_buf_free(lp2p_buf *buf);
/* Ensures room for `extra` more bytes. Returns 0 or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_buf_reserve(lp2p_buf *buf, size_t extra);
/* Appends bytes. Returns 0 or LP2P_ERR_NOMEM (the buffer is unchanged). */
LP2P_API int lp2p_buf_append(lp2p_buf *buf, const void *data, size_t len);
/* Shortens the buffer to `len` bytes (no-op when already shorter). */
LP2P_API void lp2p_buf_truncate(lp2p_buf *buf, size_t len);
/* Appends a NUL-terminated string without its NUL; keeps data[len] == 0
 * so the buffer can be read as a C string. Returns 0 or LP2P_ERR_NOMEM. */
LP2P_API int lp2p_buf_append_str(lp2p_buf *buf, const char *str);

#ifdef __cplusplus
}
#endif

#endif /* LP2P_COMMON_H */
