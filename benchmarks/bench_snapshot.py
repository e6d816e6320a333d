"""Checked physics snapshot into a preallocated NumPy buffer vs a sim_info.py-style ctypes reader.

Target (DESIGN.md §8): snapshot p50 ≤ 1 µs from Python, ≥ 5× faster than the ctypes reader.
The ctypes baseline reads, unchecked, the fields an agent uses, the way AC's classic sim_info.py
exposes the live mapping through a ctypes Structure.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import sys

import pytest

from ac_core import _core
from ac_core import pages as P
from ac_core.testing.page_publisher import PagePublisher

from .conftest import record

# One figure, one group: `ac-core bench` pairs the ctypes baseline with the ac_core reads by group
# and shows baseline / ours beside the target.
FIGURE = "physics page read"
TARGET = "≤ 1 µs, ≥ 5×"
TARGET_NS = 1000.0

AGENT_FIELDS = [
    "packetId", "gas", "brake", "gear", "rpms", "steerAngle", "speedKmh", "velocity", "accG", "wheelSlip",
    "heading", "numberOfTyresOut", "carDamage", "localAngularVel", "localVelocity",
]  # fmt: skip


def ctypes_physics_struct() -> type[ctypes.Structure]:
    """A ctypes mirror of SPageFilePhysics in sim_info.py style (_pack_ = 4)."""
    fields = []
    for name in P.PHYSICS_DTYPE.names:
        sub = P.PHYSICS_DTYPE[name]
        base = ctypes.c_int32 if sub.base.kind == "i" else ctypes.c_float
        ctype = base
        for dim in reversed(sub.shape):
            ctype = ctype * dim
        fields.append((name, ctype))

    class SPageFilePhysics(ctypes.Structure):
        _pack_ = 4
        _fields_ = fields

    assert ctypes.sizeof(SPageFilePhysics) == 712
    return SPageFilePhysics


@pytest.fixture(scope="module")
def live_page():
    prefix = f"acbench{os.getpid()}_"
    with PagePublisher(prefix) as pub:
        pub.physics["packetId"] = 1
        pub.physics["speedKmh"] = 200.0
        pub.physics["localVelocity"] = [0.1, 0.0, 55.5]
        pub.publish()
        yield prefix


def test_snapshot_numpy(benchmark, live_page: str) -> None:
    page = _core.SharedPage.open(live_page + "physics")
    reader = _core.PageReader(page, _core.PageKind.PHYSICS)
    out = P.empty_page("physics")
    benchmark.group = FIGURE
    benchmark.extra_info["what"] = "checked snapshot (seqlock) of the whole 712-byte page into NumPy"
    pid = benchmark(reader.read_into, out)
    record(benchmark, FIGURE, "ac_core", TARGET, TARGET_NS)
    assert pid == 1 and float(out["speedKmh"]) == 200.0


def test_snapshot_numpy_packetid_protocol(benchmark, live_page: str) -> None:
    """The same against an AC-style page (no seqlock trailer): packetId before/after."""
    if not sys.platform.startswith("linux"):
        pytest.skip("needs /dev/shm")
    from multiprocessing import shared_memory

    m = shared_memory.SharedMemory(name=live_page + "acstyle", create=True, size=712)
    try:
        page = _core.SharedPage.open(live_page + "acstyle")
        reader = _core.PageReader(page, _core.PageKind.PHYSICS)
        assert reader.protocol == _core.SnapshotProtocol.PACKET_ID
        out = P.empty_page("physics")
        benchmark.group = FIGURE
        benchmark.extra_info["what"] = "checked snapshot of an AC-style page (packetId before/after) into NumPy"
        benchmark(reader.read_into, out)
        # Same group (so the same baseline and ratio), its own label so the two rows can be told apart.
        record(benchmark, f"{FIGURE} (AC-style page, packetId protocol)", "ac_core", TARGET, TARGET_NS)
        page.close()
    finally:
        m.close()
        m.unlink()


def test_ctypes_sim_info_reader(benchmark, live_page: str) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("needs /dev/shm")
    struct_type = ctypes_physics_struct()
    with open(f"/dev/shm/{live_page}physics", "r+b") as f:
        buf = mmap.mmap(f.fileno(), 0)
    physics_ref = struct_type.from_buffer(buf)

    def read_agent_fields() -> list:
        # What a sim_info.py-based agent does per observation: attribute reads, arrays to lists.
        p = physics_ref
        return [
            p.packetId, p.gas, p.brake, p.gear, p.rpms, p.steerAngle, p.speedKmh, list(p.velocity),
            list(p.accG), list(p.wheelSlip), p.heading, p.numberOfTyresOut, list(p.carDamage),
            list(p.localAngularVel), list(p.localVelocity),
        ]  # fmt: skip

    benchmark.group = FIGURE
    benchmark.extra_info["what"] = "sim_info.py-style ctypes reads of 15 agent fields, unchecked"
    row = benchmark(read_agent_fields)
    record(benchmark, FIGURE, "baseline")
    assert row[0] == 1 and row[6] == 200.0
    physics_ref = None  # drop the ctypes view (a buffer export) so the mmap can close
    buf.close()
