#!/usr/bin/env python3
"""params.json of libp2p/test-plans' gossipsub-interop partial scenarios,
shortened for loopback: the same instructions and topologies as the suite's
experiment.py, with a 200 ms heartbeat and seconds of setup instead of 30.

  partial_params.py SCENARIO NODES SEED > params.json

partial-messages: random connections (CONNS each), everyone subscribes
  requesting parts, each node adds random parts of one group (together
  all 8), everyone publishes.
partial-messages-chain: a line 0-1-...-n-1 (node i dials i+1); 16 groups
  whose 8 parts are dealt round robin over the nodes; a group published
  by every node each second.
partial-messages-fanout: random connections; node 0 does not subscribe,
  has every part and publishes to nodes 1..7 only.
"""
import json
import random
import sys

CONNS = 4
SETUP = 4  # seconds before parts are added


def init(n):
    params = {"HeartbeatInterval": 200_000_000}
    out = []
    for i in range(n):  # spread heartbeats as the suite does
        p = dict(params, HeartbeatInitialDelay=100_000_000 + i * 100_000)
        out.append(if_node(i, {"type": "initGossipSub", "gossipSubParams": p}))
    return out


def if_node(i, instruction):
    return {"type": "ifNodeIDEquals", "nodeID": i, "instruction": instruction}


def random_mesh(rng, n, conns):
    linked = {i: set() for i in range(n)}
    dials = {i: [] for i in range(n)}
    for i in range(n):
        while len(linked[i]) < conns:
            t = rng.randrange(n)
            if t == i or t in linked[i]:
                continue
            linked[i].add(t)
            linked[t].add(i)
            dials[i].append(t)
    return [if_node(i, {"type": "connect", "connectTo": d})
            for i, d in dials.items() if d]


def subscribe(topic):
    return {"type": "subscribeToTopic", "topicID": topic, "partial": True}


def add(topic, group, parts):
    return {"type": "addPartialMessage", "topicID": topic, "groupID": group,
            "parts": parts}


def publish(topic, group, to=None):
    p = {"type": "publishPartial", "topicID": topic, "groupID": group}
    if to is not None:
        p["publishToNodeIDs"] = to
    return p


def wait(s):
    return {"type": "waitUntil", "elapsedSeconds": s}


def partial_messages(rng, n):
    topic, group = "a-subnet", rng.randrange(256)
    script = init(n) + random_mesh(rng, n, min(CONNS, n - 1))
    script += [subscribe(topic), wait(SETUP)]
    while True:  # random parts that together make the whole message
        parts = [rng.randrange(256) for _ in range(n)]
        union = 0
        for p in parts:
            union |= p
        if union == 0xFF:
            break
    script += [if_node(i, add(topic, group, p)) for i, p in enumerate(parts)]
    script += [publish(topic, group), wait(SETUP + 5)]
    return script


def chain(rng, n):
    topic = "partial-msg-chain"
    script = init(n)
    script += [if_node(i, {"type": "connect", "connectTo": [i + 1]})
               for i in range(n - 1)]
    script += [subscribe(topic), wait(SETUP)]
    for g in range(16):
        for part in range(8):
            script.append(if_node((g * 8 + part) % n, add(topic, g, 1 << part)))
    at = SETUP
    for g in range(16):
        at += 1
        script += [wait(at), publish(topic, g)]
    return script + [wait(at + 6)]


def fanout(rng, n):
    topic, group = "a-subnet", rng.randrange(256)
    script = init(n) + random_mesh(rng, n, min(CONNS, n - 1))
    script += [if_node(i, subscribe(topic)) for i in range(1, n)]
    script += [wait(SETUP), if_node(0, add(topic, group, 0xFF)),
               if_node(0, publish(topic, group, list(range(1, min(8, n))))),
               wait(SETUP + 5)]
    return script


def main():
    name, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    make = {"partial-messages": partial_messages,
            "partial-messages-chain": chain,
            "partial-messages-fanout": fanout}[name]
    json.dump({"script": make(random.Random(seed), n)}, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
