"""ctypes declarations of the parts of liblp2p (and of libuv, which it
links) that the binding calls, and how the library is found.

The structures mirror include/lp2p/*.h of the library's SONAME (liblp2p.so.0.4);
a layout change there is an ABI break and moves the SONAME.
"""

import ctypes
import ctypes.util
import os
import threading

SONAME = "liblp2p.so.0.4"

LP2P_KEY_ED25519 = 1
LP2P_ERR_INVALID_ARG = -2
LP2P_ERR_STATE = -18
LP2P_ERR_NOT_SENT = -21

# libuv: uv_handle_type UV_ASYNC and uv_run_mode UV_RUN_DEFAULT (uv.h)
UV_ASYNC = 1
UV_RUN_DEFAULT = 0

# router event types (lp2p_router_event_type)
EV_PEER_SUBSCRIBED = 0
EV_PEER_UNSUBSCRIBED = 1
EV_GRAFT = 2
EV_PRUNE = 3

# the largest message id the router makes (lp2p_router_limits.max_id_len)
MAX_ID_LEN = 256
PEER_ID_TEXT_MAX = 80


class Bytes(ctypes.Structure):
    _fields_ = [("data", ctypes.POINTER(ctypes.c_uint8)), ("len", ctypes.c_size_t)]

    def get(self):
        """The bytes, or None for an absent field (data NULL)."""
        if not self.data:
            return None
        return ctypes.string_at(self.data, self.len)


class Buf(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.POINTER(ctypes.c_uint8)),
        ("len", ctypes.c_size_t),
        ("cap", ctypes.c_size_t),
        ("mem", ctypes.c_void_p),
    ]

    def get(self):
        return ctypes.string_at(self.data, self.len) if self.len else b""


class ErrDetail(ctypes.Structure):
    _fields_ = [("msg", ctypes.c_char * 160)]


class PrivKey(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("data", ctypes.c_uint8 * 64)]


class PeerId(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint8), ("bytes", ctypes.c_uint8 * 44)]


class Message(ctypes.Structure):
    _fields_ = [
        ("from_", Bytes),
        ("data", Bytes),
        ("seqno", Bytes),
        ("topic", Bytes),
        ("id", Bytes),
        ("received_from", ctypes.POINTER(PeerId)),
    ]


class RouterEvent(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("peer", ctypes.POINTER(PeerId)),
        ("topic", Bytes),
        ("px", ctypes.POINTER(Bytes)),
        ("npx", ctypes.c_size_t),
    ]


NODE_STATS_FIELDS = (
    "pubsub_peers",
    "streams_opened",
    "streams_refused",
    "streams_given_up",
    "duplicate_streams",
    "rpcs_oversized",
    "bytes_received",
    "bytes_sent",
    "dials",
    "dials_failed",
    "px_unknown_addr",
    "nomem_disconnects",
    "px_dialed_from_book",
    "addrbook_peers",
    "addrbook_peers_evicted",
    "addrbook_addrs_replaced",
    "addrbook_addrs_rejected",
    "addrbook_addrs_expired",
    "dials_cancelled",
    "px_addrs_dropped",
)


class NodeStats(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64) for name in NODE_STATS_FIELDS]


MESSAGE_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(Message), ctypes.c_void_p)
PEER_CB = ctypes.CFUNCTYPE(
    None, ctypes.c_void_p, ctypes.POINTER(PeerId), ctypes.c_bool, ctypes.c_bool, ctypes.c_void_p
)
EVENT_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(RouterEvent), ctypes.c_void_p)
CLOSED_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
UV_ASYNC_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


class NodeCallbacks(ctypes.Structure):
    # validate, msg_id, received, trace and the partial-message callbacks
    # stay NULL: every message is accepted, ids are the default ones,
    # nothing is traced, partial messages are not used
    _fields_ = [
        ("message", MESSAGE_CB),
        ("validate", ctypes.c_void_p),
        ("peer", PEER_CB),
        ("router_event", EVENT_CB),
        ("msg_id", ctypes.c_void_p),
        ("received", ctypes.c_void_p),
        ("trace", ctypes.c_void_p),
        ("partial", ctypes.c_void_p),
        ("partial_gossip", ctypes.c_void_p),
    ]


class LibraryNotFound(OSError):
    """liblp2p.so could not be loaded."""


def library_path():
    """Where liblp2p is loaded from: next to the package (a wheel that
    bundles it), else $LP2P_LIBRARY, else the system's SONAME."""
    here = os.path.dirname(os.path.abspath(__file__))
    for name in (SONAME, "liblp2p.so"):
        bundled = os.path.join(here, name)
        if os.path.exists(bundled):
            return bundled
    env = os.environ.get("LP2P_LIBRARY")
    if env:
        return env
    return ctypes.util.find_library("lp2p") or SONAME


def _declare(lib):
    vp, sz, i, u8p = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.POINTER(ctypes.c_uint8)
    errp = ctypes.POINTER(ErrDetail)
    sig = {
        # liblp2p
        "lp2p_strerror": (ctypes.c_char_p, [i]),
        "lp2p_buf_init": (None, [ctypes.POINTER(Buf), vp]),
        "lp2p_buf_free": (None, [ctypes.POINTER(Buf)]),
        "lp2p_multiaddr_parse": (i, [ctypes.c_char_p, ctypes.POINTER(Buf), errp]),
        "lp2p_multiaddr_format": (i, [u8p, sz, ctypes.POINTER(Buf), errp]),
        "lp2p_uvarint_decode": (i, [u8p, sz, ctypes.POINTER(ctypes.c_uint64)]),
        "lp2p_privkey_from_seed": (i, [i, ctypes.c_char_p, ctypes.POINTER(PrivKey)]),
        "lp2p_privkey_generate": (i, [i, vp, vp, ctypes.POINTER(PrivKey)]),
        "lp2p_privkey_wipe": (None, [ctypes.POINTER(PrivKey)]),
        "lp2p_peer_id_to_base58": (i, [ctypes.POINTER(PeerId), ctypes.c_char_p, sz]),
        "lp2p_peer_id_from_bytes": (i, [u8p, sz, ctypes.POINTER(PeerId)]),
        "lp2p_node_new_with_key": (
            i,
            [ctypes.POINTER(vp), vp, ctypes.POINTER(PrivKey), ctypes.POINTER(NodeCallbacks), vp, errp],
        ),
        "lp2p_node_close": (i, [vp, CLOSED_CB, vp]),
        "lp2p_node_host": (vp, [vp]),
        "lp2p_node_connect": (i, [vp, u8p, sz, errp]),
        "lp2p_node_subscribe": (i, [vp, ctypes.c_char_p, sz]),
        "lp2p_node_unsubscribe": (i, [vp, ctypes.c_char_p, sz]),
        "lp2p_node_publish": (
            i,
            [vp, ctypes.c_char_p, sz, ctypes.c_char_p, sz, u8p, ctypes.POINTER(sz)],
        ),
        "lp2p_node_get_stats": (None, [vp, ctypes.POINTER(NodeStats)]),
        "lp2p_node_metrics": (i, [vp, ctypes.POINTER(Buf)]),
        "lp2p_host_peer_id": (ctypes.POINTER(PeerId), [vp]),
        "lp2p_host_listen": (i, [vp, u8p, sz, errp]),
        "lp2p_host_listen_addrs": (i, [vp, ctypes.c_bool, ctypes.POINTER(Buf)]),
        # libuv, through liblp2p's dependency on libuv.so.1
        "uv_loop_size": (sz, []),
        "uv_loop_init": (i, [vp]),
        "uv_loop_close": (i, [vp]),
        "uv_run": (i, [vp, i]),
        "uv_handle_size": (sz, [i]),
        "uv_async_init": (i, [vp, vp, UV_ASYNC_CB]),
        "uv_async_send": (i, [vp]),
        "uv_close": (None, [vp, vp]),
        "uv_strerror": (ctypes.c_char_p, [i]),
    }
    for name, (restype, argtypes) in sig.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


_lib = None
_lib_lock = threading.Lock()


def lib():
    """The loaded library, declared; loaded on first use so that importing
    the package never fails."""
    global _lib
    with _lib_lock:
        if _lib is None:
            path = library_path()
            try:
                loaded = ctypes.CDLL(path)
            except OSError as e:
                raise LibraryNotFound(
                    f"cannot load liblp2p from {path!r} ({e}); install liblp2p, "
                    "use a wheel that bundles it, or set LP2P_LIBRARY to its path"
                ) from None
            _lib = _declare(loaded)
        return _lib
