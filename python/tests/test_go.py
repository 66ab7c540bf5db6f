"""A Python lp2p node and the go-libp2p-pubsub reference node (gsnode,
tests/interop/gossipsub/go) exchange messages both ways on loopback.
gsnode is built by its own build.sh into $LP2P_GSNODE_DIR; the test is
skipped when go is not installed (build.sh exits 77)."""

import json
import os
import queue
import signal
import subprocess
import threading
import time

import pytest

import lp2p

TOPIC = "py-go"
HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
BUILD_SH = os.path.join(SRC, "tests", "interop", "gossipsub", "go", "build.sh")


@pytest.fixture(scope="module")
def gsnode_path():
    out = os.environ.get("LP2P_GSNODE_DIR") or os.path.join(SRC, "build", "python", "go")
    r = subprocess.run(["sh", BUILD_SH, out], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode == 77:
        pytest.skip(r.stdout.strip() or "go is not installed")
    if r.returncode != 0:
        pytest.fail(f"building gsnode failed:\n{r.stderr}")
    return os.path.join(out, "gsnode")


class GoNode:
    """gsnode with --events: its JSON lines on a queue, stdin to publish."""

    def __init__(self, path):
        args = [path, "--topic", TOPIC, "--events", "--mesh-interval-ms", "200"]
        self.proc = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        listening = self.wait(lambda e: e["event"] == "listening")
        self.peer_id, self.addrs = listening["peer_id"], listening["addrs"]

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def wait(self, pred, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                event = self.lines.get(timeout=max(left, 0.001))
            except queue.Empty:
                raise AssertionError(f"gsnode: no matching line in {timeout} s") from None
            if pred(event):
                return event

    def publish(self, text):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def test_python_node_and_go_pubsub_exchange_messages_both_ways(gsnode_path, arun):
    go = GoNode(gsnode_path)
    try:

        async def main():
            async with lp2p.Node() as py:
                sub = py.subscribe(TOPIC)
                py.connect(go.addrs[0])
                # both meshes: go sends its publications to its mesh only
                await py.wait_for_mesh(TOPIC)
                go.wait(lambda e: e["event"] == "graft" and e["peer_id"] == py.peer_id)

                mid = py.publish(TOPIC, b"from python")
                got = go.wait(lambda e: e["event"] == "message" and e["data"] == "from python")
                assert got["from"] == py.peer_id and got["topic"] == TOPIC
                assert bytes.fromhex(got["id"]) == mid  # the same id on both

                go.publish("from go")
                msg = await sub.get(10)
                assert msg.data == b"from go"
                assert msg.from_peer == go.peer_id and msg.received_from == go.peer_id

        arun(main(), timeout=30)
    finally:
        go.stop()
