"""Two lp2p nodes in one Python process, over loopback TCP."""

import asyncio
import os

import pytest

import lp2p

TOPIC = "py-test"


async def pair(a, b, topic=TOPIC):
    """b dials a; both join `topic` and wait for each other in the mesh."""
    subs = a.subscribe(topic), b.subscribe(topic)
    b.connect(a.addrs[0])
    await a.wait_for_mesh(topic)
    await b.wait_for_mesh(topic)
    return subs


def test_two_nodes_exchange_messages_both_ways(arun):
    async def main():
        async with lp2p.Node() as a, lp2p.Node() as b:
            sa, sb = await pair(a, b)
            ids = [b.publish(TOPIC, f"b{i}".encode()) for i in range(3)]
            a.publish(TOPIC, "from a")
            got_a = [await sa.get(5) for _ in range(3)]
            got_b = await sb.get(5)
            assert [m.data for m in got_a] == [b"b0", b"b1", b"b2"]
            assert [m.id for m in got_a] == ids
            assert all(m.from_peer == b.peer_id and m.received_from == b.peer_id for m in got_a)
            assert all(m.topic == TOPIC for m in got_a)
            assert got_b.data == b"from a" and got_b.from_peer == a.peer_id
            # our own publications are not delivered back
            with pytest.raises(asyncio.TimeoutError):
                await sa.get(0.2)

    arun(main())


def test_publish_to_unsubscribed_topic_reaches_its_subscribers(arun):
    async def main():
        async with lp2p.Node() as a, lp2p.Node() as b:
            sa = a.subscribe("fanout")
            b.connect(a.addrs[0])
            for _ in range(250):
                if a.peer_id in b.topic_peers("fanout"):
                    break
                await asyncio.sleep(0.02)
            # b never joined "fanout": the message goes out through fanout
            mid = b.publish("fanout", b"via fanout")
            msg = await sa.get(5)
            assert msg.data == b"via fanout" and msg.id == mid
            # a topic nobody is on: not sent, and said so (go drops it
            # silently); nothing was published, so it may be sent again
            with pytest.raises(lp2p.Lp2pError) as e:
                b.publish("nobody-here", b"x")
            assert e.value.code == -21  # LP2P_ERR_NOT_SENT

    arun(main())


def test_close_while_iterating_ends_the_iteration(arun):
    async def main():
        a, b = lp2p.Node().start(), lp2p.Node().start()
        try:
            sa, _ = await pair(a, b)
            got = []

            async def consume():
                async for msg in sa:
                    got.append(msg.data)

            task = asyncio.create_task(consume())
            b.publish(TOPIC, b"one")
            while not got:
                await asyncio.sleep(0.01)
            await a.aclose()  # the consumer is parked in __anext__
            await asyncio.wait_for(task, 5)
            assert got == [b"one"]
            with pytest.raises(lp2p.Lp2pError, match="node is closed"):
                a.publish(TOPIC, b"late")
            a.close()  # idempotent
        finally:
            a.close()
            b.close()

    arun(main())


def test_bad_multiaddr_raises_with_the_c_message():
    with lp2p.Node() as n:
        with pytest.raises(lp2p.MultiaddrError, match="unknown multiaddr protocol 'foo'") as e:
            n.connect("/ip4/127.0.0.1/foo/1")
        assert isinstance(e.value, ValueError) and e.value.code < 0
        with pytest.raises(lp2p.MultiaddrError, match="/ip4/300.1.1.1"):
            n.connect("/ip4/300.1.1.1/tcp/1")
    with pytest.raises(lp2p.MultiaddrError, match="unknown multiaddr protocol 'nope'"):
        lp2p.Node(listen="/nope/1").start()


def test_key_seed_gives_the_interop_harness_peer_id():
    # the same id as `lp2p node --key-seed 1` and the go and js gsnodes
    with lp2p.Node(key_seed=1) as n:
        assert n.peer_id == "12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X"
        assert n.addrs[0].startswith("/ip4/127.0.0.1/tcp/")
        assert n.addrs[0].endswith("/p2p/" + n.peer_id)


def test_subscription_queue_is_bounded_and_counts_drops(arun):
    async def main():
        async with lp2p.Node(queue_size=2) as a, lp2p.Node() as b:
            sa, _ = await pair(a, b)
            for i in range(5):
                b.publish(TOPIC, bytes([i]))
            for _ in range(250):
                if sa.dropped == 3:
                    break
                await asyncio.sleep(0.02)
            assert sa.dropped == 3
            assert [(await sa.get(1)).data for _ in range(2)] == [b"\0", b"\1"]

    arun(main())


def test_metrics_count_messages_and_peers(arun):
    async def main():
        async with lp2p.Node() as a, lp2p.Node() as b:
            sa, _ = await pair(a, b)
            b.publish(TOPIC, b"m")
            await sa.get(5)
            m = a.metrics()
            assert m["node_pubsub_peers"] == 1
            assert m["libp2p_pubsub_messages_delivered_total"] == 1
            assert m["node_bytes_received"] > 0

    arun(main())


def test_publish_without_waiting_delivers_in_order_and_gives_ids(arun):
    async def main():
        async with lp2p.Node() as a, lp2p.Node() as b:
            sa, _ = await pair(a, b)
            futs = [b.publish(TOPIC, bytes([i]), wait=False) for i in range(200)]
            got = [await sa.get(5) for _ in range(200)]
            assert [m.data for m in got] == [bytes([i]) for i in range(200)]
            assert [m.id for m in got] == [f.result(5) for f in futs]

    arun(main())


def test_mirrored_structs_have_every_member_of_the_c_headers():
    """_lib.py lays out C structs by hand: a member added to the header
    and not here makes C read past the Python object (it crashed every
    node when lp2p_node_callbacks gained `trace`)."""
    import re
    from lp2p import _lib as C

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "include", "lp2p", "node.h")) as f:
        header = f.read()
    body = re.search(r"typedef struct lp2p_node_callbacks \{(.*?)\} lp2p_node_callbacks;",
                     header, re.S).group(1)
    members = re.findall(r"\(\*(\w+)\)", body)
    assert [name for name, _ in C.NodeCallbacks._fields_] == members
    # lp2p_node_stats: every member a uint64_t, several per line
    body = re.search(r"typedef struct lp2p_node_stats \{(.*?)\} lp2p_node_stats;",
                     header, re.S).group(1)
    body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
    members = [m for decl in re.findall(r"uint64_t([^;]*);", body)
               for m in re.findall(r"\w+", decl)]
    assert list(C.NODE_STATS_FIELDS) == members
