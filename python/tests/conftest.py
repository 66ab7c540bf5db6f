"""Runs the tests against the package in this source tree and the
liblp2p.so that $LP2P_LIBRARY names (ctest sets it to the build tree's)."""

import asyncio
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import lp2p  # noqa: E402


def pytest_configure(config):
    try:
        lp2p._lib.lib()
    except lp2p.LibraryNotFound as e:
        raise pytest.UsageError(str(e))


def run(coro, timeout=20.0):
    """Runs a test coroutine on a fresh event loop, bounded in time."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture
def arun():
    return run
