"""Reading AC's physics page from Python: ac_core's checked snapshot against ctypes readers, like for like.

Two figures, each with its baselines in the same run:

* "physics page copy": the 712 bytes into a private buffer, nothing else. ac_core's
  ``PageSet.read_physics()`` and ``PageReader.read_into`` (seqlock- or packetId-checked) beside a
  ctypes ``from_buffer_copy`` (unchecked) and a ctypes copy checked the way AC's protocol allows
  (packetId before == packetId after, retried).
* "physics page → 15 agent fields": the copy and then the same 15 Python values an agent uses (floats,
  ints, lists) from each: the NumPy buffer, the ctypes copy (unchecked and checked), and
  sim_info.py's field-by-field reads of the live mapping (each field read from shared memory, no copy,
  no check: fields of different packets can mix).

Target (DESIGN.md §8): snapshot p50 ≤ 1 µs from Python, and ``PageSet.read_physics()`` at least as fast
as the checked ctypes copy.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import sys

import numpy as np
import pytest

from ac_core import _core
from ac_core import pages as P
from ac_core.shm import PageSet
from ac_core.testing.page_publisher import PagePublisher

from .conftest import record

TARGET = "≤ 1 µs"
TARGET_NS = 1000.0



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


COPY = "physics page copy"
FIELDS = "physics page → 15 agent fields"


def _struct_view(live_page: str):
    if not sys.platform.startswith("linux"):
        pytest.skip("the ctypes baselines map the page through /dev/shm")
    struct_type = ctypes_physics_struct()
    with open(f"/dev/shm/{live_page}physics", "r+b") as f:
        buf = mmap.mmap(f.fileno(), 0)
    return struct_type, buf


def ctypes_checked_copy(struct_type, buf, live):
    """AC's protocol from ctypes: copy, accept when packetId did not move during the copy."""
    for _ in range(16):
        before = live.packetId
        snap = struct_type.from_buffer_copy(buf)
        if live.packetId == before and snap.packetId == before:
            return snap
    raise RuntimeError("physics page kept changing")


def struct_fields(p) -> list:
    """The 15 agent fields from a ctypes Structure (a copy or the live view)."""
    return [
        p.packetId, p.gas, p.brake, p.gear, p.rpms, p.steerAngle, p.speedKmh, list(p.velocity),
        list(p.accG), list(p.wheelSlip), p.heading, p.numberOfTyresOut, list(p.carDamage),
        list(p.localAngularVel), list(p.localVelocity),
    ]  # fmt: skip


def numpy_fields(p: np.ndarray) -> list:
    """The same 15 fields from the NumPy snapshot (0-d structured array)."""
    return [
        int(p["packetId"]), float(p["gas"]), float(p["brake"]), int(p["gear"]), int(p["rpms"]),
        float(p["steerAngle"]), float(p["speedKmh"]), p["velocity"].tolist(), p["accG"].tolist(),
        p["wheelSlip"].tolist(), float(p["heading"]), int(p["numberOfTyresOut"]), p["carDamage"].tolist(),
        p["localAngularVel"].tolist(), p["localVelocity"].tolist(),
    ]  # fmt: skip


def _check(row: list) -> None:
    assert row[0] == 1 and row[6] == 200.0 and row[14][2] == pytest.approx(55.5), row


# -- the copy --------------------------------------------------------------------------------------
def test_copy_pageset_read_physics(benchmark, live_page: str) -> None:
    with PageSet(live_page) as pages:
        benchmark.group = COPY
        pid = benchmark(pages.read_physics)
        record(benchmark, f"{COPY} (PageSet.read_physics, checked)", "ac_core", TARGET, TARGET_NS,
               what="PageSet.read_physics(): seqlock-checked copy into its NumPy buffer")  # fmt: skip
        assert pid == 1


def test_copy_page_reader_read_into(benchmark, live_page: str) -> None:
    page = _core.SharedPage.open(live_page + "physics")
    reader = _core.PageReader(page, _core.PageKind.PHYSICS)
    out = P.empty_page("physics")
    benchmark.group = COPY
    pid = benchmark(reader.read_into, out)
    record(benchmark, f"{COPY} (PageReader.read_into, checked)", "ac_core", TARGET, TARGET_NS,
           what="PageReader.read_into(out): the C++ read PageSet wraps")  # fmt: skip
    assert pid == 1 and float(out["speedKmh"]) == 200.0


def test_copy_acstyle_page_packetid_protocol(benchmark, live_page: str) -> None:
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
        benchmark.group = COPY
        benchmark(reader.read_into, out)
        record(benchmark, f"{COPY} (AC-style page, packetId protocol)", "ac_core",
               what="PageReader.read_into on a page without the seqlock trailer")  # fmt: skip
        page.close()
    finally:
        m.close()
        m.unlink()


def test_copy_ctypes_from_buffer_copy(benchmark, live_page: str) -> None:
    struct_type, buf = _struct_view(live_page)
    benchmark.group = COPY
    snap = benchmark(struct_type.from_buffer_copy, buf)
    record(benchmark, f"{COPY} (ctypes from_buffer_copy, unchecked)", "baseline",
           what="ctypes Structure.from_buffer_copy(mmap): unchecked")  # fmt: skip
    assert snap.packetId == 1
    buf.close()


def test_copy_ctypes_checked(benchmark, live_page: str) -> None:
    struct_type, buf = _struct_view(live_page)
    live = struct_type.from_buffer(buf)
    benchmark.group = COPY
    snap = benchmark(ctypes_checked_copy, struct_type, buf, live)
    record(benchmark, f"{COPY} (ctypes copy, packetId-checked)", "baseline",
           what="ctypes from_buffer_copy with packetId before == after, retried")  # fmt: skip
    assert snap.packetId == 1
    live = None  # drop the buffer export so the mmap can close
    buf.close()


# -- the copy and 15 Python fields ---------------------------------------------------------------------
def test_fields_pageset(benchmark, live_page: str) -> None:
    with PageSet(live_page) as pages:
        physics = pages.physics

        def read() -> list:
            pages.read_physics()
            return numpy_fields(physics)

        benchmark.group = FIELDS
        row = benchmark(read)
        record(benchmark, FIELDS, "ac_core", what="PageSet.read_physics() + 15 fields from the NumPy buffer")
        _check(row)


def test_fields_ctypes_copy(benchmark, live_page: str) -> None:
    struct_type, buf = _struct_view(live_page)
    benchmark.group = FIELDS
    row = benchmark(lambda: struct_fields(struct_type.from_buffer_copy(buf)))
    record(benchmark, FIELDS, "baseline", what="ctypes from_buffer_copy (unchecked) + 15 attribute reads")
    _check(row)
    buf.close()


def test_fields_ctypes_checked_copy(benchmark, live_page: str) -> None:
    struct_type, buf = _struct_view(live_page)
    live = struct_type.from_buffer(buf)
    benchmark.group = FIELDS
    row = benchmark(lambda: struct_fields(ctypes_checked_copy(struct_type, buf, live)))
    record(benchmark, FIELDS, "baseline", what="ctypes packetId-checked copy + 15 attribute reads")
    _check(row)
    live = None
    buf.close()


def test_fields_sim_info_live_view(benchmark, live_page: str) -> None:
    struct_type, buf = _struct_view(live_page)
    physics_ref = struct_type.from_buffer(buf)
    benchmark.group = FIELDS
    row = benchmark(lambda: struct_fields(physics_ref))
    record(benchmark, FIELDS, "baseline",
           what="sim_info.py: 15 field reads of the live mapping, no copy, unchecked")  # fmt: skip
    _check(row)
    physics_ref = None  # drop the ctypes view (a buffer export) so the mmap can close
    buf.close()
