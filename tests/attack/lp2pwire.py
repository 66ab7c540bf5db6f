"""libp2p by hand, as an attacker builds it: multistream-select, Noise XX
(X25519, ChaCha20-Poly1305, SHA-256, Ed25519 identity), yamux, mplex and
meshsub RPCs, over asyncio streams.

Crypto comes from libsodium through ctypes (lp2p itself needs libsodium, so
the suite needs nothing from PyPI). Only what the attacks need is here: the
dialer side of every handshake, frames built field by field.
"""

import asyncio
import ctypes
import ctypes.util
import hashlib
import hmac
import os
import struct

# ---- libsodium ------------------------------------------------------------


def _load_sodium():
    for name in (ctypes.util.find_library("sodium"), "libsodium.so.23",
                 "libsodium.so"):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        if lib.sodium_init() < 0:
            raise RuntimeError("sodium_init failed")
        return lib
    raise RuntimeError("libsodium not found (install libsodium-dev)")


_na = _load_sodium()
_buf = ctypes.create_string_buffer
_ull = ctypes.c_ulonglong


def x25519_keypair():
    sk = os.urandom(32)
    pk = _buf(32)
    if _na.crypto_scalarmult_base(pk, sk) != 0:
        raise RuntimeError("x25519 base")
    return sk, pk.raw


def x25519(sk, pk):
    out = _buf(32)
    if _na.crypto_scalarmult(out, sk, pk) != 0:
        raise ValueError("x25519 with a low-order point")
    return out.raw


def _nonce(n):
    return b"\0\0\0\0" + struct.pack("<Q", n)


def aead_encrypt(key, n, ad, pt):
    out = _buf(len(pt) + 16)
    olen = _ull(0)
    _na.crypto_aead_chacha20poly1305_ietf_encrypt(
        out, ctypes.byref(olen), pt, _ull(len(pt)), ad, _ull(len(ad)), None,
        _nonce(n), key)
    return out.raw[:olen.value]


def aead_decrypt(key, n, ad, ct):
    out = _buf(max(len(ct), 1))
    olen = _ull(0)
    if _na.crypto_aead_chacha20poly1305_ietf_decrypt(
            out, ctypes.byref(olen), None, ct, _ull(len(ct)), ad,
            _ull(len(ad)), _nonce(n), key) != 0:
        raise ValueError("noise: decryption failed")
    return out.raw[:olen.value]


def ed25519_keypair():
    pk, sk = _buf(32), _buf(64)
    _na.crypto_sign_keypair(pk, sk)
    return pk.raw, sk.raw


def ed25519_sign(sk, msg):
    sig = _buf(64)
    _na.crypto_sign_detached(sig, None, msg, _ull(len(msg)), sk)
    return sig.raw


# ---- protobuf and varints -------------------------------------------------


def uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_uvarint(buf, off):
    """Returns (value, new offset) or (None, off) when incomplete."""
    shift = value = 0
    i = off
    while i < len(buf):
        b = buf[i]
        value |= (b & 0x7F) << shift
        i += 1
        if not b & 0x80:
            return value, i
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")
    return None, off


def pb_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return uvarint(field << 3 | 2) + uvarint(len(data)) + data


def pb_varint(field, value):
    return uvarint(field << 3) + uvarint(value)


def pb_fields(buf):
    """Yields (field, wire type, value) of a protobuf message."""
    off = 0
    while off < len(buf):
        key, off = read_uvarint(buf, off)
        if key is None:
            raise ValueError("truncated protobuf")
        field, wt = key >> 3, key & 7
        if wt == 0:
            value, off = read_uvarint(buf, off)
        elif wt == 2:
            n, off = read_uvarint(buf, off)
            value, off = bytes(buf[off:off + n]), off + n
        else:
            raise ValueError("unexpected wire type %d" % wt)
        yield field, wt, value


class Identity:
    """An Ed25519 libp2p identity."""

    def __init__(self):
        self.pub, self.sec = ed25519_keypair()
        # PublicKey { Type = Ed25519 (1); Data }
        self.pubkey_pb = pb_varint(1, 1) + pb_bytes(2, self.pub)
        # identity multihash: the protobuf is short enough to be inlined
        self.peer_id = b"\x00" + uvarint(len(self.pubkey_pb)) + self.pubkey_pb


# ---- multistream-select ---------------------------------------------------

MSS = "/multistream/1.0.0"


def mss_line(proto):
    line = (proto + "\n").encode()
    return uvarint(len(line)) + line


class MssParser:
    """Splits an incoming byte stream into multistream-select lines."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        self.buf += data
        lines = []
        while True:
            n, off = read_uvarint(self.buf, 0)
            if n is None or len(self.buf) < off + n:
                return lines
            lines.append(bytes(self.buf[off:off + n]).rstrip(b"\n").decode(
                "utf-8", "replace"))
            del self.buf[:off + n]


async def _read_line(reader):
    n = 0
    shift = 0
    while True:
        b = (await reader.readexactly(1))[0]
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    if n > 1024:
        raise ValueError("mss line too long")
    return (await reader.readexactly(n)).rstrip(b"\n").decode()


async def mss_select(reader, write, proto):
    """Dialer side: proposes `proto` (pipelined with the header)."""
    write(mss_line(MSS) + mss_line(proto))
    header = await _read_line(reader)
    if header != MSS:
        raise ValueError("mss: unexpected header %r" % header)
    answer = await _read_line(reader)
    if answer != proto:
        raise ValueError("mss: %s refused (%r)" % (proto, answer))


# ---- Noise XX ---------------------------------------------------------------

NOISE_NAME = b"Noise_XX_25519_ChaChaPoly_SHA256"  # 32 bytes: h = name
MAX_NOISE_PLAINTEXT = 65535 - 16


def _hkdf2(ck, ikm):
    tmp = hmac.new(ck, ikm, hashlib.sha256).digest()
    out1 = hmac.new(tmp, b"\x01", hashlib.sha256).digest()
    out2 = hmac.new(tmp, out1 + b"\x02", hashlib.sha256).digest()
    return out1, out2


class _Symmetric:

    def __init__(self):
        self.h = NOISE_NAME
        self.ck = NOISE_NAME
        self.k = None
        self.n = 0
        self.mix_hash(b"")  # empty prologue

    def mix_hash(self, data):
        self.h = hashlib.sha256(self.h + data).digest()

    def mix_key(self, ikm):
        self.ck, self.k = _hkdf2(self.ck, ikm)
        self.n = 0

    def encrypt_and_hash(self, pt):
        ct = pt
        if self.k is not None:
            ct = aead_encrypt(self.k, self.n, self.h, pt)
            self.n += 1
        self.mix_hash(ct)
        return ct

    def decrypt_and_hash(self, ct):
        pt = ct
        if self.k is not None:
            pt = aead_decrypt(self.k, self.n, self.h, ct)
            self.n += 1
        self.mix_hash(ct)
        return pt


class SecureConn:
    """A Noise transport over an asyncio stream pair."""

    def __init__(self, reader, writer, k_send, k_recv):
        self.reader, self.writer = reader, writer
        self.k_send, self.k_recv = k_send, k_recv
        self.n_send = self.n_recv = 0
        self.queued = 0  # bytes given to write (see `sent`)
        self.plain = bytearray()

    def write(self, data):
        frames = []
        for off in range(0, len(data), MAX_NOISE_PLAINTEXT):
            ct = aead_encrypt(self.k_send, self.n_send, b"",
                              bytes(data[off:off + MAX_NOISE_PLAINTEXT]))
            self.n_send += 1
            frames.append(struct.pack(">H", len(ct)) + ct)
        out = b"".join(frames)
        self.queued += len(out)
        self.writer.write(out)

    @property
    def sent(self):
        """Bytes the kernel took (the rest waits in our buffer)."""
        return self.queued - self.writer.transport.get_write_buffer_size()

    async def drain(self):
        await self.writer.drain()

    async def read_some(self):
        """The plaintext of the next Noise frame (b"" at EOF)."""
        if self.plain:
            out, self.plain = bytes(self.plain), bytearray()
            return out
        try:
            n = struct.unpack(">H", await self.reader.readexactly(2))[0]
            ct = await self.reader.readexactly(n)
        except asyncio.IncompleteReadError:
            return b""
        pt = aead_decrypt(self.k_recv, self.n_recv, b"", ct)
        self.n_recv += 1
        return pt

    async def readexactly(self, n):
        while len(self.plain) < n:
            n_ct = struct.unpack(">H", await self.reader.readexactly(2))[0]
            ct = await self.reader.readexactly(n_ct)
            self.plain += aead_decrypt(self.k_recv, self.n_recv, b"", ct)
            self.n_recv += 1
        out = bytes(self.plain[:n])
        del self.plain[:n]
        return out

    def close(self):
        self.writer.transport.abort()


async def _read_noise_msg(reader):
    n = struct.unpack(">H", await reader.readexactly(2))[0]
    return await reader.readexactly(n)


async def noise_dial(reader, writer, ident):
    """Noise XX as initiator; returns a SecureConn."""
    sym = _Symmetric()
    e_sk, e_pk = x25519_keypair()
    s_sk, s_pk = x25519_keypair()
    # -> e
    sym.mix_hash(e_pk)
    msg1 = e_pk + sym.encrypt_and_hash(b"")
    writer.write(struct.pack(">H", len(msg1)) + msg1)
    # <- e, ee, s, es
    msg2 = await _read_noise_msg(reader)
    if len(msg2) < 32 + 48:
        raise ValueError("noise: short message 2")
    re = msg2[:32]
    sym.mix_hash(re)
    sym.mix_key(x25519(e_sk, re))
    rs = sym.decrypt_and_hash(msg2[32:80])
    sym.mix_key(x25519(e_sk, rs))
    sym.decrypt_and_hash(msg2[80:])  # the responder's payload, unchecked
    # -> s, se
    payload = (pb_bytes(1, ident.pubkey_pb) + pb_bytes(
        2, ed25519_sign(ident.sec, b"noise-libp2p-static-key:" + s_pk)))
    msg3 = sym.encrypt_and_hash(s_pk)
    sym.mix_key(x25519(s_sk, re))
    msg3 += sym.encrypt_and_hash(payload)
    writer.write(struct.pack(">H", len(msg3)) + msg3)
    k1, k2 = _hkdf2(sym.ck, b"")
    return SecureConn(reader, writer, k1, k2)


YAMUX = "/yamux/1.0.0"
MPLEX = "/mplex/6.7.0"


async def dial(host, port, muxer=YAMUX, ident=None, src_ip=None):
    """TCP, mss /noise, Noise XX, mss muxer: a SecureConn ready for the
    muxer's frames."""
    local = (src_ip, 0) if src_ip else None
    reader, writer = await asyncio.open_connection(host, port,
                                                   local_addr=local)
    try:
        await mss_select(reader, writer.write, "/noise")
        sc = await noise_dial(reader, writer, ident or Identity())
        await mss_select(sc, sc.write, muxer)
    except BaseException:
        writer.transport.abort()
        raise
    return sc


# ---- muxers ---------------------------------------------------------------

YAMUX_WINDOW = 256 * 1024
Y_DATA, Y_WINDOW, Y_PING, Y_GOAWAY = 0, 1, 2, 3
Y_SYN, Y_ACK, Y_FIN, Y_RST = 1, 2, 4, 8


class Muxer:
    """The dialer side of a muxed connection: opens streams with a
    pipelined protocol proposal, answers keepalives, accepts the target's
    streams for `accept` protocols (meshsub) and refuses the others.

    Reading stops while `reading` is cleared: the socket then fills and the
    target's writes back up, which is what a non-reading peer does."""

    def __init__(self, sc, accept=()):
        self.sc = sc
        self.accept = accept
        self.reading = asyncio.Event()
        self.reading.set()
        self.closed = asyncio.Event()
        self.reset = set()      # our streams the target reset
        self.inbound = {}       # stream id -> MssParser or accepted protocol
        self.received = 0       # bytes of data received
        self.on_data = None     # (stream id, bytes) of accepted streams
        self.task = asyncio.ensure_future(self._read_loop())

    async def _read_loop(self):
        try:
            while True:
                await self.reading.wait()
                if not await self._read_frame():
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError,
                OSError):
            pass
        finally:
            self.closed.set()

    def _inbound_data(self, sid, data):
        """mss on a stream the target opened: accept the first proposal
        in `accept`, refuse the rest."""
        st = self.inbound.get(sid)
        if isinstance(st, str):
            if self.on_data:
                self.on_data(sid, data)
            return
        if st is None:
            return
        for line in st.feed(data):
            if line == MSS:
                self.stream_write(sid, mss_line(MSS))
            elif any(line.startswith(p) for p in self.accept):
                self.inbound[sid] = line
                self.stream_write(sid, mss_line(line))
                if st.buf and self.on_data:
                    self.on_data(sid, bytes(st.buf))
                return
            else:
                self.stream_write(sid, mss_line("na"))

    def close(self):
        self.task.cancel()
        self.sc.close()


class Yamux(Muxer):

    def __init__(self, sc, accept=()):
        self.next_id = 1
        self.credit = {}  # our stream -> bytes the target's window allows
        self.window_update = asyncio.Event()
        super().__init__(sc, accept)

    async def write_all(self, sid, data, timeout):
        """Writes all of `data` as the target's window opens; False when
        it stays shut for `timeout` seconds or the stream is reset (an RPC
        cut short would break the stream's framing)."""
        off = 0
        while True:
            off += self.stream_write(sid, data[off:])
            if off == len(data):
                return True
            if sid in self.reset or self.closed.is_set():
                return False
            self.window_update.clear()
            try:
                await asyncio.wait_for(self.window_update.wait(), timeout)
            except asyncio.TimeoutError:
                return False

    def frame(self, typ, flags, sid, length, data=b""):
        self.sc.write(struct.pack(">BBHII", 0, typ, flags, sid, length) + data)

    def open_stream(self, proto, data=b""):
        sid = self.next_id
        self.next_id += 2
        self.credit[sid] = YAMUX_WINDOW
        self.frame(Y_WINDOW, Y_SYN, sid, 0)
        self.stream_write(sid, mss_line(MSS) + mss_line(proto) + data)
        return sid

    def stream_write(self, sid, data):
        """Writes what the target's window takes; returns the count."""
        if sid in self.credit:
            data = data[:max(0, self.credit[sid])]
            self.credit[sid] -= len(data)
        for off in range(0, len(data), 16384):
            chunk = data[off:off + 16384]
            self.frame(Y_DATA, 0, sid, len(chunk), chunk)
        return len(data)

    async def _read_frame(self):
        hdr = await self.sc.readexactly(12)
        _, typ, flags, sid, length = struct.unpack(">BBHII", hdr)
        if typ == Y_DATA:
            data = await self.sc.readexactly(length) if length else b""
            self.received += length
            if flags & Y_SYN:
                self._new_inbound(sid)
            if data and sid % 2 == 0:
                self._inbound_data(sid, data)
        elif typ == Y_WINDOW:
            if flags & Y_SYN:
                self._new_inbound(sid)
            elif sid in self.credit:
                self.credit[sid] += length
                self.window_update.set()
        elif typ == Y_PING and flags & Y_SYN:
            self.frame(Y_PING, Y_ACK, 0, length)
        elif typ == Y_GOAWAY:
            return False
        if flags & Y_RST and sid in self.credit:
            self.reset.add(sid)
            self.credit[sid] = 0
            self.window_update.set()
        return True

    def _new_inbound(self, sid):
        if self.accept:
            self.inbound[sid] = MssParser()
            self.frame(Y_WINDOW, Y_ACK, sid, 0)
        else:
            self.frame(Y_WINDOW, Y_RST, sid, 0)


M_NEW, M_MSG_R, M_MSG_I, M_CLOSE_R, M_CLOSE_I, M_RESET_R, M_RESET_I = range(7)


class Mplex(Muxer):

    def __init__(self, sc, accept=()):
        self.next_id = 0
        self.ours = set()
        super().__init__(sc, accept)

    def frame(self, sid, flag, data=b""):
        self.sc.write(uvarint(sid << 3 | flag) + uvarint(len(data)) + data)

    def open_stream(self, proto, data=b""):
        sid = self.next_id
        self.next_id += 1
        self.ours.add(sid)
        self.frame(sid, M_NEW, str(sid).encode())
        self.stream_write(sid, mss_line(MSS) + mss_line(proto) + data)
        return sid

    async def write_all(self, sid, data, timeout):
        self.stream_write(sid, data)
        return sid not in self.reset and not self.closed.is_set()

    def stream_write(self, sid, data):
        if sid in self.reset:
            return 0
        flag = M_MSG_I if sid in self.ours else M_MSG_R
        for off in range(0, len(data), 65536):
            self.frame(sid, flag, data[off:off + 65536])
        return len(data)

    async def _read_frame(self):
        hdr = b""
        while True:
            b = await self.sc.readexactly(1)
            hdr += b
            if not b[0] & 0x80:
                break
        h, _ = read_uvarint(hdr, 0)
        n = b""
        while True:
            b = await self.sc.readexactly(1)
            n += b
            if not b[0] & 0x80:
                break
        length, _ = read_uvarint(n, 0)
        data = await self.sc.readexactly(length) if length else b""
        sid, flag = h >> 3, h & 7
        self.received += length
        if flag == M_NEW:
            if self.accept:
                self.inbound[sid] = MssParser()
            else:
                self.frame(sid, M_RESET_R)
        elif flag == M_MSG_I and data:
            self._inbound_data_mplex(sid, data)
        elif flag == M_RESET_R:
            self.reset.add(sid)
        return True

    def _inbound_data_mplex(self, sid, data):
        # the target's streams are its initiator side: answer as receiver
        saved = self.ours
        self.ours = set()
        try:
            self._inbound_data(sid, data)
        finally:
            self.ours = saved


# ---- meshsub RPCs ---------------------------------------------------------

MESHSUB = "/meshsub/1.1.0"


def rpc(subs=(), publish=(), ihave=(), iwant=(), graft=()):
    """An RPC, length-prefixed as on the stream. subs: (topic, bool);
    ihave: (topic, [ids]); iwant: [ids]; graft: topics."""
    body = b""
    for topic, on in subs:
        body += pb_bytes(1, pb_varint(1, int(on)) + pb_bytes(2, topic))
    for msg in publish:
        body += pb_bytes(2, msg)
    ctl = b""
    for topic, ids in ihave:
        ctl += pb_bytes(1, pb_bytes(1, topic) + b"".join(
            pb_bytes(2, i) for i in ids))
    if iwant:
        ctl += pb_bytes(2, b"".join(pb_bytes(1, i) for i in iwant))
    for topic in graft:
        ctl += pb_bytes(3, pb_bytes(1, topic))
    if ctl:
        body += pb_bytes(3, ctl)
    return uvarint(len(body)) + body


def rpc_message_ids(buf):
    """Default message ids (from + seqno) of the messages published in an
    RPC body."""
    ids = []
    for field, _, value in pb_fields(buf):
        if field != 2:
            continue
        frm = seq = b""
        for f, _, v in pb_fields(value):
            if f == 1:
                frm = v
            elif f == 3:
                seq = v
        ids.append(frm + seq)
    return ids


class RpcReader:
    """Collects the RPC bodies of a length-prefixed meshsub stream."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        self.buf += data
        out = []
        while True:
            n, off = read_uvarint(self.buf, 0)
            if n is None or len(self.buf) < off + n:
                return out
            out.append(bytes(self.buf[off:off + n]))
            del self.buf[:off + n]
