"""lp2p: a fast GossipSub (libp2p pubsub) node, over the C library liblp2p.

    async with lp2p.Node(key_seed=1) as node:
        node.connect("/ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...")
        async for msg in node.subscribe("chat"):
            print(msg.from_peer, msg.data)

See python/README.md for the threading rule and where the library is found.
"""

from ._lib import LibraryNotFound, library_path
from .node import Lp2pError, Message, MultiaddrError, Node, Subscription, parse_multiaddr

__all__ = [
    "LibraryNotFound",
    "Lp2pError",
    "Message",
    "MultiaddrError",
    "Node",
    "Subscription",
    "library_path",
    "parse_multiaddr",
]
__version__ = "0.4.0"
