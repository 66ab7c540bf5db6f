/* base58btc and base32 (RFC 4648, lower case, unpadded), raw and with the
 * multibase prefix character. */
#include <string.h>

#include "lp2p/multiformats.h"

static const char b58_alphabet[] =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
static const char b32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

/* Longest input the base58 encoder takes: whatever the decoder can
 * produce, so that every decoded value encodes back. */
#define B58_MAX_BYTES LP2P_BASE58_MAX_TEXT

int lp2p_base58_encode(const uint8_t *in, size_t len, char *out, size_t cap) {
  uint8_t digits[B58_MAX_BYTES * 138 / 100 + 1];
  size_t ndigits = 0, zeros = 0;
  if (len > B58_MAX_BYTES) {
    return LP2P_ERR_TOO_LARGE;
  }
  while (zeros < len && in[zeros] == 0) {
    zeros++;
  }
  for (size_t i = zeros; i < len; i++) {
    unsigned carry = in[i];
    for (size_t j = 0; j < ndigits; j++) {
      carry += (unsigned)digits[j] << 8;
      digits[j] = (uint8_t)(carry % 58);
      carry /= 58;
    }
    while (carry) {
      digits[ndigits++] = (uint8_t)(carry % 58);
      carry /= 58;
    }
  }
  size_t total = zeros + ndigits;
  if (total + 1 > cap) {
    return LP2P_ERR_BUFFER_TOO_SMALL;
  }
  memset(out, '1', zeros);
  for (size_t i = 0; i < ndigits; i++) {
    out[zeros + i] = b58_alphabet[digits[ndigits - 1 - i]];
  }
  out[total] = 0;
  return (int)total;
}

static int b58_value(char c) {
  const char *p = c ? strchr(b58_alphabet, c) : NULL;
  return p ? (int)(p - b58_alphabet) : -1;
}

int lp2p_base58_decode(const char *text, size_t len, uint8_t *out, size_t cap) {
  uint8_t bytes[LP2P_BASE58_MAX_TEXT];
  size_t nbytes = 0, zeros = 0;
  if (len > LP2P_BASE58_MAX_TEXT) {
    return LP2P_ERR_TOO_LARGE;
  }
  while (zeros < len && text[zeros] == '1') {
    zeros++;
  }
  for (size_t i = zeros; i < len; i++) {
    int v = b58_value(text[i]);
    if (v < 0) {
      return LP2P_ERR_MALFORMED;
    }
    unsigned carry = (unsigned)v;
    for (size_t j = 0; j < nbytes; j++) {
      carry += (unsigned)bytes[j] * 58;
      bytes[j] = (uint8_t)carry;
      carry >>= 8;
    }
    while (carry) {
      bytes[nbytes++] = (uint8_t)carry;
      carry >>= 8;
    }
  }
  if (zeros + nbytes > cap) {
    return LP2P_ERR_BUFFER_TOO_SMALL;
  }
  memset(out, 0, zeros);
  for (size_t i = 0; i < nbytes; i++) {
    out[zeros + i] = bytes[nbytes - 1 - i];
  }
  return (int)(zeros + nbytes);
}

int lp2p_base32_encode(const uint8_t *in, size_t len, char *out, size_t cap) {
  if (len > SIZE_MAX / 8 - 1 || (len * 8 + 4) / 5 + 1 > cap) {
    return LP2P_ERR_BUFFER_TOO_SMALL;
  }
  size_t o = 0;
  uint32_t acc = 0;
  unsigned bits = 0;
  for (size_t i = 0; i < len; i++) {
    acc = (acc << 8) | in[i];
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out[o++] = b32_alphabet[(acc >> bits) & 31];
    }
  }
  if (bits) {
    out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
  }
  out[o] = 0;
  return (int)o;
}

static int b32_value(char c) {
  if (c >= 'a' && c <= 'z') {
    return c - 'a';
  }
  if (c >= '2' && c <= '7') {
    return c - '2' + 26;
  }
  return -1;
}

int lp2p_base32_decode(const char *text, size_t len, uint8_t *out, size_t cap) {
  /* 1, 3 and 6 trailing characters cannot come from whole bytes */
  size_t rem = len % 8;
  if (rem == 1 || rem == 3 || rem == 6) {
    return LP2P_ERR_MALFORMED;
  }
  size_t total = len * 5 / 8;
  if (total > cap) {
    return LP2P_ERR_BUFFER_TOO_SMALL;
  }
  size_t o = 0;
  uint32_t acc = 0;
  unsigned bits = 0;
  for (size_t i = 0; i < len; i++) {
    int v = b32_value(text[i]);
    if (v < 0) {
      return LP2P_ERR_MALFORMED;
    }
    acc = (acc << 5) | (uint32_t)v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (uint8_t)(acc >> bits);
    }
  }
  /* the unused low bits of the last character must be zero */
  if (acc & ((1u << bits) - 1)) {
    return LP2P_ERR_MALFORMED;
  }
  return (int)o;
}

int lp2p_multibase_encode(char base, const uint8_t *in, size_t len, char *out,
                          size_t cap) {
  if (cap < 1) {
    return LP2P_ERR_BUFFER_TOO_SMALL;
  }
  int n;
  if (base == LP2P_MULTIBASE_BASE58BTC) {
    n = lp2p_base58_encode(in, len, out + 1, cap - 1);
  } else if (base == LP2P_MULTIBASE_BASE32) {
    n = lp2p_base32_encode(in, len, out + 1, cap - 1);
  } else {
    return LP2P_ERR_UNSUPPORTED;
  }
  if (n < 0) {
    return n;
  }
  out[0] = base;
  return n + 1;
}

int lp2p_multibase_decode(const char *text, size_t len, uint8_t *out,
                          size_t cap) {
  if (len < 1) {
    return LP2P_ERR_MALFORMED;
  }
  if (text[0] == LP2P_MULTIBASE_BASE58BTC) {
    return lp2p_base58_decode(text + 1, len - 1, out, cap);
  }
  if (text[0] == LP2P_MULTIBASE_BASE32) {
    return lp2p_base32_decode(text + 1, len - 1, out, cap);
  }
  return LP2P_ERR_UNSUPPORTED;
}
