"""A GossipSub node: lp2p's C node on a thread of its own.

Threading rule. lp2p is single-threaded: a node and its libuv loop must only
be touched from one thread. Each Node owns a dedicated thread that runs the
loop and makes every C call. Methods called from other threads (the asyncio
thread, any thread) hand a closure to that thread through a libuv async
handle (uv_async_send is libuv's one thread-safe call) and wait for its
result, so they are safe from any thread and raise the C error where it
happened. Received messages are copied into bytes on the node's thread and
put on each subscription's bounded queue; an asyncio waiter is woken with
call_soon_threadsafe, once per batch.
"""

import asyncio
import collections
import concurrent.futures
import ctypes
import dataclasses
import logging
import threading
from typing import Dict, List, Optional, Union

from . import _lib as C

log = logging.getLogger("lp2p")

_CALL_TIMEOUT = 30.0


class Lp2pError(Exception):
    """A call into lp2p failed; `code` is the negative LP2P_ERR_* value."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class MultiaddrError(Lp2pError, ValueError):
    """A multiaddr that lp2p cannot parse."""


def _error(code: int, what: str, detail: Optional[C.ErrDetail] = None, cls=Lp2pError):
    if detail is not None and detail.msg:  # says more than the code's text
        reason = detail.msg.decode(errors="replace")
    else:
        reason = C.lib().lp2p_strerror(code).decode()
    return cls(code, f"{what}: {reason}")


def _check(code: int, what: str, detail: Optional[C.ErrDetail] = None) -> int:
    if code < 0:
        raise _error(code, what, detail)
    return code


def _topic_bytes(topic: Union[str, bytes]) -> bytes:
    return topic.encode() if isinstance(topic, str) else bytes(topic)


def parse_multiaddr(text: str) -> bytes:
    """The binary form of a text multiaddr; MultiaddrError with lp2p's
    message (e.g. "unknown multiaddr protocol 'foo'") when it is not one."""
    lib = C.lib()
    buf = C.Buf()
    lib.lp2p_buf_init(ctypes.byref(buf), None)
    err = C.ErrDetail()
    try:
        rv = lib.lp2p_multiaddr_parse(text.encode(), ctypes.byref(buf), ctypes.byref(err))
        if rv < 0:
            raise _error(rv, f"bad multiaddr {text!r}", err, MultiaddrError)
        return buf.get()
    finally:
        lib.lp2p_buf_free(ctypes.byref(buf))


def _format_multiaddr(ma: bytes) -> str:
    lib = C.lib()
    buf = C.Buf()
    lib.lp2p_buf_init(ctypes.byref(buf), None)
    try:
        raw = (ctypes.c_uint8 * len(ma)).from_buffer_copy(ma)
        _check(lib.lp2p_multiaddr_format(raw, len(ma), ctypes.byref(buf), None), "multiaddr")
        return buf.get().decode()
    finally:
        lib.lp2p_buf_free(ctypes.byref(buf))


def _peer_text(pid) -> str:
    out = ctypes.create_string_buffer(C.PEER_ID_TEXT_MAX)
    n = _check(C.lib().lp2p_peer_id_to_base58(pid, out, len(out)), "peer id")
    return out.raw[:n].decode()


@dataclasses.dataclass(frozen=True)
class Message:
    """A message another peer published, as delivered to a subscription."""

    topic: str
    data: bytes
    id: bytes
    #: the author's peer id (None for unsigned messages)
    from_peer: Optional[str]
    seqno: Optional[int]
    #: the peer that forwarded it to us
    received_from: Optional[str]


class Subscription:
    """Messages of one topic, in order: `async for msg in sub`. The
    iteration ends when the subscription or its node is closed. The queue
    holds at most `maxsize` messages; past it new ones are dropped and
    counted in `dropped`."""

    def __init__(self, node: "Node", topic: bytes, maxsize: int):
        self.topic = topic.decode(errors="replace")
        self._topic = topic
        self._node = node
        self._maxsize = maxsize
        self._lock = threading.Lock()
        self._items: collections.deque = collections.deque()
        self._closed = False
        self._waiter = None  # (asyncio loop, future) of a parked __anext__
        self.dropped = 0

    # ---- the node's thread
    def _push(self, msg: Message) -> None:
        with self._lock:
            if self._closed:
                return
            if len(self._items) >= self._maxsize:
                self.dropped += 1
                return
            self._items.append(msg)
            waiter, self._waiter = self._waiter, None
        _wake(waiter)

    def _end(self) -> None:
        with self._lock:
            self._closed = True
            waiter, self._waiter = self._waiter, None
        _wake(waiter)

    # ---- the consumer's side
    def __aiter__(self):
        return self

    async def __anext__(self) -> Message:
        while True:
            with self._lock:
                if self._items:
                    return self._items.popleft()
                if self._closed:
                    raise StopAsyncIteration
                loop = asyncio.get_running_loop()
                fut = loop.create_future()
                self._waiter = (loop, fut)
            try:
                await fut
            finally:
                with self._lock:
                    if self._waiter is not None and self._waiter[1] is fut:
                        self._waiter = None

    async def get(self, timeout: Optional[float] = None) -> Message:
        """The next message; asyncio.TimeoutError after `timeout` seconds,
        StopAsyncIteration once closed and drained."""
        with self._lock:
            if self._items:  # no task for wait_for to wrap
                return self._items.popleft()
        return await asyncio.wait_for(self.__anext__(), timeout)

    def close(self) -> None:
        """Stops the subscription; the node leaves the topic when it was
        the last one on it."""
        if not self._closed:
            self._node._unsubscribe(self)
        self._end()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.close()


def _wake(waiter) -> None:
    if waiter is None:
        return
    loop, fut = waiter
    try:
        loop.call_soon_threadsafe(_set_done, fut)
    except RuntimeError:  # the asyncio loop was closed meanwhile
        pass


def _set_done(fut) -> None:
    if not fut.done():
        fut.set_result(None)


def _seed_bytes(key_seed: Union[int, bytes]) -> bytes:
    """An int N is the interop harnesses' convention (N as a little-endian
    uint32, then zeros), so Node(key_seed=1) has the peer id of `lp2p node
    --key-seed 1` and of the go and js reference nodes."""
    if isinstance(key_seed, int):
        if not 0 <= key_seed < 2**32:
            raise ValueError("key_seed: an int in [0, 2**32) or 32 bytes")
        return key_seed.to_bytes(4, "little") + bytes(28)
    seed = bytes(key_seed)
    if len(seed) != 32:
        raise ValueError("key_seed: an int in [0, 2**32) or 32 bytes")
    return seed


class Node:
    """A GossipSub node (StrictSign, lp2p's default parameters) listening on
    `listen` (a multiaddr or a list of them), with an Ed25519 key from
    `key_seed` (see _seed_bytes) or a random one.

        with Node() as a, Node() as b:
            b.connect(a.addrs[0])
            ...

    Also an async context manager (`async with Node() as n`), which closes
    without blocking the event loop.
    """

    #: publish(wait=False) calls queued for the node's thread at most
    MAX_PENDING_PUBLISHES = 4096

    def __init__(
        self,
        listen: Union[str, List[str]] = "/ip4/127.0.0.1/tcp/0",
        key_seed: Union[None, int, bytes] = None,
        *,
        queue_size: int = 10000,
    ):
        self._listen = [listen] if isinstance(listen, str) else list(listen)
        self._seed = None if key_seed is None else _seed_bytes(key_seed)
        self._queue_size = queue_size
        self._node = None
        self._thread = None
        self._state = "new"  # new, running, closing, closed
        self._cmd_lock = threading.Lock()
        self._cmds: collections.deque = collections.deque()
        self._pending_publishes: collections.deque = collections.deque()
        # owned by the node's thread
        self._subs: Dict[bytes, List[Subscription]] = {}
        self._peers: set = set()
        self._topic_peers: Dict[bytes, set] = {}
        self._mesh: Dict[bytes, set] = {}
        self._author_ids: Dict[bytes, str] = {}
        self.peer_id: Optional[str] = None

    # ---- life cycle ---------------------------------------------------------

    def start(self) -> "Node":
        """Creates the node, listens, and starts its thread."""
        if self._state != "new":
            raise Lp2pError(C.LP2P_ERR_STATE, "node already started")
        lib = C.lib()
        self._loop_mem = ctypes.create_string_buffer(lib.uv_loop_size())
        self._async_mem = ctypes.create_string_buffer(lib.uv_handle_size(C.UV_ASYNC))
        self._uv_check(lib.uv_loop_init(self._loop_mem), "uv_loop_init")
        # the C side holds these pointers: they live as long as the node
        self._c_async = C.UV_ASYNC_CB(self._on_async)
        self._c_closed = C.CLOSED_CB(self._on_node_closed)
        self._c_fns = (
            C.MESSAGE_CB(self._on_message),
            C.PEER_CB(self._on_peer),
            C.EVENT_CB(self._on_event),
        )
        self._c_cb = C.NodeCallbacks(message=self._c_fns[0], peer=self._c_fns[1], router_event=self._c_fns[2])
        rv = lib.uv_async_init(self._loop_mem, self._async_mem, self._c_async)
        if rv < 0:
            lib.uv_loop_close(self._loop_mem)
            self._uv_check(rv, "uv_async_init")
        try:
            self._create_node()
            for text in self._listen:
                ma = parse_multiaddr(text)
                err = C.ErrDetail()
                raw = (ctypes.c_uint8 * len(ma)).from_buffer_copy(ma)
                rv = lib.lp2p_host_listen(lib.lp2p_node_host(self._node), raw, len(ma), err)
                _check(rv, f"listen on {text}", err)
        except BaseException:
            self._abort_start()
            raise
        self.peer_id = _peer_text(lib.lp2p_host_peer_id(lib.lp2p_node_host(self._node)))
        self._state = "running"
        self._thread = threading.Thread(target=self._run, name=f"lp2p-{self.peer_id[-6:]}", daemon=True)
        self._thread.start()
        return self

    def _create_node(self) -> None:
        lib = C.lib()
        key = C.PrivKey()
        if self._seed is None:
            rand = ctypes.cast(lib.lp2p_host_rand, ctypes.c_void_p)
            rv = lib.lp2p_privkey_generate(C.LP2P_KEY_ED25519, rand, None, key)
        else:
            rv = lib.lp2p_privkey_from_seed(C.LP2P_KEY_ED25519, self._seed, key)
        _check(rv, "key")
        node = ctypes.c_void_p()
        err = C.ErrDetail()
        rv = lib.lp2p_node_new_with_key(ctypes.byref(node), self._loop_mem, key, self._c_cb, None, err)
        lib.lp2p_privkey_wipe(key)
        _check(rv, "node", err)
        self._node = node

    def _abort_start(self) -> None:
        """Undoes a start that failed before the thread ran: the loop runs
        here until the node and the async handle are released."""
        lib = C.lib()
        if self._node:
            lib.lp2p_node_close(self._node, self._c_closed, None)
        else:
            lib.uv_close(self._async_mem, None)
        lib.uv_run(self._loop_mem, C.UV_RUN_DEFAULT)
        lib.uv_loop_close(self._loop_mem)
        self._node = None
        self._state = "closed"

    def _run(self) -> None:
        lib = C.lib()
        self._thread_id = threading.get_ident()
        # ctypes releases the GIL for the call; callbacks take it back
        lib.uv_run(self._loop_mem, C.UV_RUN_DEFAULT)

    def close(self) -> None:
        """Leaves every topic (PRUNE to mesh peers), closes every
        connection and stops the thread; ends every subscription's
        iteration. Blocks up to about half a second; idempotent."""
        with self._cmd_lock:
            state = self._state
            if state == "running":
                self._state = "closing"
        if state == "new":
            self._state = "closed"
            return
        if state != "running":
            if self._thread is not None and threading.get_ident() != self._thread.ident:
                self._thread.join()
            return
        if threading.get_ident() == self._thread.ident:
            raise RuntimeError("Node.close called on the node's own thread")
        self._send(self._begin_close).result(_CALL_TIMEOUT)
        self._thread.join()
        C.lib().uv_loop_close(self._loop_mem)
        self._node = None
        self._state = "closed"

    async def aclose(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def _begin_close(self) -> None:
        for subs in self._subs.values():
            for sub in subs:
                sub._end()
        self._subs.clear()
        _check(C.lib().lp2p_node_close(self._node, self._c_closed, None), "close")

    def _on_node_closed(self, user) -> None:
        # the last handle: uv_run returns once it is closed
        C.lib().uv_close(self._async_mem, None)

    def __enter__(self) -> "Node":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    async def __aenter__(self) -> "Node":
        return self.start()

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    # ---- running a call on the node's thread -------------------------------

    @staticmethod
    def _uv_check(rv: int, what: str) -> None:
        if rv < 0:
            raise OSError(-rv, f"{what}: {C.lib().uv_strerror(rv).decode()}")

    def _send(self, fn) -> concurrent.futures.Future:
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._cmds.append((fn, fut))
        # libuv coalesces sends until the callback runs; the callback
        # drains everything queued by then
        C.lib().uv_async_send(self._async_mem)
        return fut

    def _call(self, fn):
        """fn() on the node's thread; its result or its exception."""
        if self._thread is not None and threading.get_ident() == self._thread.ident:
            return fn()
        with self._cmd_lock:
            if self._state != "running":
                raise Lp2pError(C.LP2P_ERR_STATE, f"node is {self._state}")
            fut = self._send(fn)
        return fut.result(_CALL_TIMEOUT)

    #: commands run per wakeup; then the loop gets to write and read
    #: (a burst of publishes would otherwise fill the write buffers and
    #: the router's queues before a byte goes out)
    BATCH = 128

    def _on_async(self, handle) -> None:
        for _ in range(self.BATCH):
            if not self._cmds:
                return
            fn, fut = self._cmds.popleft()
            try:
                fut.set_result(fn())
            except BaseException as e:  # handed to the caller's thread
                fut.set_exception(e)
        if self._cmds:
            C.lib().uv_async_send(self._async_mem)  # the rest after the I/O

    # ---- callbacks from C (the node's thread) ------------------------------

    def _on_message(self, node, msgp, user) -> None:
        try:
            m = msgp.contents
            subs = self._subs.get(m.topic.get() or b"")
            if not subs:
                return
            seqno = m.seqno.get()
            msg = Message(
                topic=subs[0].topic,
                data=m.data.get() or b"",
                id=m.id.get() or b"",
                from_peer=self._author(m.from_.get()),
                seqno=int.from_bytes(seqno, "big") if seqno else None,
                received_from=self._peer_of(m.received_from),
            )
            for sub in subs:
                sub._push(msg)
        except Exception:  # never unwind into C
            log.exception("lp2p: message callback")

    def _peer_of(self, pid) -> Optional[str]:
        if not pid:
            return None
        p = pid.contents
        return self._author(ctypes.string_at(ctypes.addressof(p.bytes), p.len))

    def _author(self, raw: Optional[bytes]) -> Optional[str]:
        if raw is None:
            return None
        text = self._author_ids.get(raw)
        if text is None:
            pid = C.PeerId()
            buf = (ctypes.c_uint8 * len(raw)).from_buffer_copy(raw)
            if C.lib().lp2p_peer_id_from_bytes(buf, len(raw), pid) < 0:
                return None
            text = _peer_text(pid)
            if len(self._author_ids) >= 4096:  # bounded: authors are unbounded
                self._author_ids.clear()
            self._author_ids[raw] = text
        return text

    def _on_peer(self, node, peer, up, outbound, user) -> None:
        try:
            pid = _peer_text(peer)
            if up:
                self._peers.add(pid)
            else:
                self._peers.discard(pid)
                for peers in list(self._topic_peers.values()) + list(self._mesh.values()):
                    peers.discard(pid)
        except Exception:
            log.exception("lp2p: peer callback")

    def _on_event(self, node, evp, user) -> None:
        try:
            ev = evp.contents
            table = {
                C.EV_PEER_SUBSCRIBED: (self._topic_peers, True),
                C.EV_PEER_UNSUBSCRIBED: (self._topic_peers, False),
                C.EV_GRAFT: (self._mesh, True),
                C.EV_PRUNE: (self._mesh, False),
            }.get(ev.type)
            if table is None or not ev.peer:
                return
            peers = table[0].setdefault(ev.topic.get() or b"", set())
            pid = _peer_text(ev.peer)
            if table[1]:
                peers.add(pid)
            else:
                peers.discard(pid)
        except Exception:
            log.exception("lp2p: router event callback")

    # ---- the API ------------------------------------------------------------

    @property
    def addrs(self) -> List[str]:
        """The addresses we listen on, each ending in /p2p/<peer id>."""

        def get():
            lib = C.lib()
            buf = C.Buf()
            lib.lp2p_buf_init(ctypes.byref(buf), None)
            try:
                _check(lib.lp2p_host_listen_addrs(lib.lp2p_node_host(self._node), True, buf), "addrs")
                raw = buf.get()
            finally:
                lib.lp2p_buf_free(ctypes.byref(buf))
            return [_format_multiaddr(ma) for ma in _uvarint_list(raw)]

        return self._call(get)

    def connect(self, multiaddr: str) -> None:
        """Dials a peer (a multiaddr ending in /p2p/ID, or without it to
        accept whoever answers); pubsub starts once connected. Raises
        MultiaddrError for a bad multiaddr, Lp2pError when the dial cannot
        start; a dial that fails later only shows in metrics()."""
        ma = parse_multiaddr(multiaddr)

        def dial():
            lib = C.lib()
            err = C.ErrDetail()
            raw = (ctypes.c_uint8 * len(ma)).from_buffer_copy(ma)
            _check(lib.lp2p_node_connect(self._node, raw, len(ma), err), f"connect to {multiaddr}", err)

        self._call(dial)

    def subscribe(self, topic: Union[str, bytes]) -> Subscription:
        """Joins `topic` (if not joined yet) and returns an async iterator
        of the messages other peers publish on it."""
        t = _topic_bytes(topic)
        sub = Subscription(self, t, self._queue_size)

        def join():
            if t not in self._subs:
                _check(C.lib().lp2p_node_subscribe(self._node, t, len(t)), f"subscribe to {sub.topic!r}")
                self._subs[t] = []
            self._subs[t].append(sub)

        self._call(join)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        def leave():
            subs = self._subs.get(sub._topic)
            if subs is None or sub not in subs:
                return
            subs.remove(sub)
            if not subs:
                del self._subs[sub._topic]
                _check(C.lib().lp2p_node_unsubscribe(self._node, sub._topic, len(sub._topic)), "unsubscribe")

        try:
            self._call(leave)
        except Lp2pError as e:
            if e.code != C.LP2P_ERR_STATE:  # a closed node has left already
                raise

    def publish(self, topic: Union[str, bytes], data: Union[bytes, str], *, wait: bool = True):
        """Publishes `data` on `topic`, joined or not (fanout), and returns
        the message id. A message no peer could take (nobody on the
        topic yet, or every queue full) raises Lp2pError with code
        LP2P_ERR_NOT_SENT and is not published: it may be sent again.

        wait=False returns at once with a concurrent.futures.Future of the
        id (or of the error): the node's thread then publishes a batch per
        wakeup instead of one message per round trip. At most
        MAX_PENDING_PUBLISHES wait at a time; past it the call waits for
        the oldest."""
        t = _topic_bytes(topic)
        payload = data.encode() if isinstance(data, str) else bytes(data)

        def pub():
            mid = (ctypes.c_uint8 * C.MAX_ID_LEN)()
            mid_len = ctypes.c_size_t(0)
            rv = C.lib().lp2p_node_publish(self._node, t, len(t), payload, len(payload), mid, ctypes.byref(mid_len))
            _check(rv, f"publish on {t.decode(errors='replace')!r}")
            return bytes(mid[: mid_len.value])

        if wait:
            return self._call(pub)
        pending = self._pending_publishes
        while pending and pending[0].done():
            pending.popleft()
        if len(pending) >= self.MAX_PENDING_PUBLISHES:
            pending.popleft().exception(_CALL_TIMEOUT)  # back pressure
        with self._cmd_lock:
            if self._state != "running":
                raise Lp2pError(C.LP2P_ERR_STATE, f"node is {self._state}")
            fut = self._send(pub)
        pending.append(fut)
        return fut

    def peers(self) -> List[str]:
        """Peers whose pubsub stream is up."""
        return self._call(lambda: sorted(self._peers))

    def topic_peers(self, topic: Union[str, bytes]) -> List[str]:
        """Peers subscribed to `topic`, as they told us."""
        t = _topic_bytes(topic)
        return self._call(lambda: sorted(self._topic_peers.get(t, ())))

    def mesh_peers(self, topic: Union[str, bytes]) -> List[str]:
        """Our mesh for `topic`."""
        t = _topic_bytes(topic)
        return self._call(lambda: sorted(self._mesh.get(t, ())))

    async def wait_for_mesh(self, topic: Union[str, bytes], n: int = 1, timeout: float = 10.0) -> List[str]:
        """Waits until our mesh for `topic` has `n` peers (a message
        published before that may reach nobody, as in go)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            mesh = self.mesh_peers(topic)
            if len(mesh) >= n:
                return mesh
            if asyncio.get_running_loop().time() > deadline:
                raise asyncio.TimeoutError(f"mesh of {topic!r}: {len(mesh)} of {n} peers after {timeout} s")
            await asyncio.sleep(0.02)

    def metrics(self) -> Dict[str, float]:
        """The node's counters (lp2p_node_stats, as node_<field>) and its
        Prometheus metrics (router counters, per-topic gauges, connections),
        keyed by sample name with labels, e.g.
        'libp2p_pubsub_messages_delivered_total'."""

        def get():
            lib = C.lib()
            st = C.NodeStats()
            lib.lp2p_node_get_stats(self._node, st)
            buf = C.Buf()
            lib.lp2p_buf_init(ctypes.byref(buf), None)
            try:
                _check(lib.lp2p_node_metrics(self._node, buf), "metrics")
                text = buf.get().decode(errors="replace")
            finally:
                lib.lp2p_buf_free(ctypes.byref(buf))
            out = {f"node_{name}": float(getattr(st, name)) for name in C.NODE_STATS_FIELDS}
            out.update(_parse_prometheus(text))
            return out

        return self._call(get)


def _uvarint_list(raw: bytes) -> List[bytes]:
    """uvarint(length) ‖ bytes entries, as lp2p_host_listen_addrs writes."""
    out, off = [], 0
    while off < len(raw):
        n, shift = 0, 0
        while True:
            b = raw[off]
            off += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        out.append(raw[off : off + n])
        off += n
    return out


def _parse_prometheus(text: str) -> Dict[str, float]:
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        try:
            out[name] = float(value)
        except ValueError:
            continue
    return out
