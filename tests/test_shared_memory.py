"""Named pages across processes: round trips, an independent mmap+struct reader and writer, torn
writes, short and broken pages, stalls."""

from __future__ import annotations

import mmap
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ac_core import _core, shm
from ac_core import pages as P
from ac_core.testing.page_publisher import PagePublisher

from .page_fill import fill_page

TESTS = Path(__file__).resolve().parent
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX /dev/shm layout")

WRITER_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from page_fill import fill_page
from ac_core.testing.page_publisher import PagePublisher
pub = PagePublisher({prefix!r})
for kind in ("physics", "graphics", "static"):
    getattr(pub, kind)[...] = fill_page(kind, seed=7)
pub.publish()
print("ready", flush=True)
sys.stdin.read()  # hold the pages until the test closes our stdin
pub.close()
print("closed", flush=True)
"""


def test_writer_process_reader_process_round_trip_every_field(prefix: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER_SCRIPT.format(tests=str(TESTS), prefix=prefix)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        with shm.PageSet(prefix) as ps:
            ps.read_all()
            for kind in shm.KIND_NAMES:
                expected = fill_page(kind, seed=7)
                got = getattr(ps, kind)
                for name in expected.dtype.names:
                    assert np.array_equal(got[name], expected[name]), f"{kind}.{name}"
                assert ps.reader(kind).protocol == _core.SnapshotProtocol.SEQLOCK
            assert P.decode_utf16(ps.static["carModel"]) == "stcarModel7é"
    finally:
        proc.stdin.close()
        assert proc.stdout.readline().strip() == "closed"
        proc.wait(timeout=10)
    # The owner removed its pages when it closed.
    assert not _core.SharedPage.exists(prefix + "physics")


@linux_only
def test_independent_mmap_struct_reader_reads_what_ac_core_writes(prefix: str) -> None:
    with PagePublisher(prefix) as pub:
        pub.physics["packetId"] = 4242
        pub.physics["speedKmh"] = 287.5
        pub.physics["gear"] = 8
        pub.physics["localAngularVel"] = [0.01, -0.35, 0.02]
        pub.physics["localVelocity"] = [0.5, 0.0, 79.75]
        pub.graphics["normalizedCarPosition"] = 0.625
        pub.graphics["carCoordinates"] = [-120.5, 98.25, 640.0]
        P.set_text(pub.static, "track", "spa")
        pub.static["trackSPlineLength"] = 7004.0
        pub.publish()
        # The spec's offsets, used directly.
        with open(f"/dev/shm/{prefix}physics", "rb") as f:
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            assert struct.unpack_from("<i", buf, 0)[0] == 4242
            assert struct.unpack_from("<f", buf, 28)[0] == 287.5
            assert struct.unpack_from("<i", buf, 16)[0] == 8
            assert struct.unpack_from("<f", buf, 300)[0] == pytest.approx(-0.35)
            assert struct.unpack_from("<3f", buf, 568) == (0.5, 0.0, 79.75)
            buf.close()
        with open(f"/dev/shm/{prefix}graphics", "rb") as f:
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            assert struct.unpack_from("<f", buf, 248)[0] == 0.625
            assert struct.unpack_from("<3f", buf, 252) == (-120.5, 98.25, 640.0)
            buf.close()
        with open(f"/dev/shm/{prefix}static", "rb") as f:
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            assert bytes(buf[134 : 134 + 8]).decode("utf-16-le") == "spa\0"
            assert struct.unpack_from("<f", buf, 520)[0] == 7004.0
            buf.close()


@linux_only
def test_ac_core_reads_what_an_ac_style_writer_writes(prefix: str) -> None:
    """A writer like AC itself: exact-size pages, no seqlock trailer, only packetId."""
    from multiprocessing import shared_memory

    made = []
    try:
        for kind, size in (("physics", 580), ("graphics", 296), ("static", 684)):  # AC 1.12-era physics
            made.append(shared_memory.SharedMemory(name=prefix + kind, create=True, size=size))
        ph, gr, st = (m.buf for m in made)
        struct.pack_into("<i", ph, 0, 99)
        struct.pack_into("<f", ph, 4, 0.75)  # gas
        struct.pack_into("<f", ph, 28, 123.0)
        struct.pack_into("<3f", ph, 568, 0.1, 0.2, 34.0)
        struct.pack_into("<ii", gr, 0, 5, 2)  # packetId, status LIVE
        struct.pack_into("<i", gr, 132, 3)  # completedLaps
        st[68 : 68 + 34] = "FormulaAlpha2022\0".encode("utf-16-le")
        with shm.PageSet(prefix) as ps:
            assert ps.read_physics() == 99
            assert ps.reader("physics").protocol == _core.SnapshotProtocol.PACKET_ID
            assert ps.reader("static").protocol == _core.SnapshotProtocol.STABLE_COPY
            assert float(ps.physics["gas"]) == 0.75 and float(ps.physics["speedKmh"]) == 123.0
            assert ps.physics["localVelocity"].tolist() == pytest.approx([0.1, 0.2, 34.0])
            # The late tail is beyond this page: reported absent and read as zero, never from beyond the mapping.
            assert "tyreTemp" in ps.absent_fields("physics")
            assert ps.physics["tyreTemp"].tolist() == [0.0] * 4
            assert ps.read_graphics() == 5 and int(ps.graphics["completedLaps"]) == 3
            assert P.decode_utf16(ps.static["carModel"]) == "FormulaAlpha2022"
    finally:
        for m in made:
            m.close()
            m.unlink()


SLOW_WRITER = """
import sys, time
import numpy as np
from ac_core import _core
from ac_core.testing.page_publisher import PagePublisher
pub = PagePublisher({prefix!r})
view = pub.raw_view("physics")[:712].view("<u4")
writer = pub.writer("physics")
print("ready", flush=True)
sys.stdin.readline()  # wait for the reader to be in place
for gen in range(1, {generations} + 1):
    writer.begin()
    for i in range(0, view.size, 16):  # word by word in slices, sleeping mid-write
        view[i:i + 16] = gen
        if i % 64 == 0:
            time.sleep(0.0002)
    writer.end()
    time.sleep(0.002)  # a gap between writes, as a 333 Hz producer has
print("done", flush=True)
sys.stdin.read()
pub.close()
"""


def test_slow_writer_never_yields_a_mixed_page(prefix: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER.format(prefix=prefix, generations=60)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        page = _core.SharedPage.open(prefix + "physics")
        reader = _core.PageReader(page, _core.PageKind.PHYSICS, max_retries=1_000_000)
        out = P.empty_page("physics")
        words = out.reshape(1).view(np.uint8).view("<u4")
        seen: set[int] = set()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and 60 not in seen:  # until the last generation lands
            if reader.read_into(out) is None:
                continue
            assert np.all(words == words[0]), "torn snapshot: two generations in one page"
            seen.add(int(words[0]))
        stats = reader.stats
        assert stats["retries"] > 0, "the slow writer must have forced retries"
        assert len(seen) > 5
        page.close()
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def test_missing_pages_name_the_page_and_what_to_start(prefix: str) -> None:
    with pytest.raises(shm.PageNotFoundError) as e:
        shm.PageSet(prefix)
    msg = str(e.value)
    assert f"{prefix}physics" in msg and "ac-core sim" in msg and f"--prefix {prefix}" in msg
    assert not _core.SharedPage.exists(prefix + "physics"), "a reader must never create a page"


def test_page_smaller_than_any_ac_page_is_rejected(prefix: str) -> None:
    tiny = _core.SharedPage.create(prefix + "physics", 64)
    try:
        with pytest.raises(ValueError, match="smallest AC physics page"):
            _core.PageReader(_core.SharedPage.open(prefix + "physics"), _core.PageKind.PHYSICS)
        info = {i.kind: i for i in shm.probe_pages(prefix)}
        assert "not an AC page" in info["physics"].error
    finally:
        tiny.close()


def test_bad_names_and_destination_buffers(prefix: str) -> None:
    with pytest.raises(ValueError, match="no slashes"):
        _core.SharedPage.open("a/b")
    with PagePublisher(prefix):
        page = _core.SharedPage.open(prefix + "physics")
        reader = _core.PageReader(page, _core.PageKind.PHYSICS)
        with pytest.raises(ValueError, match="needs 712"):
            reader.read_into(np.zeros(100, dtype=np.uint8))
        ro = P.empty_page("physics")
        ro.flags.writeable = False
        with pytest.raises(ValueError, match="read-only"):
            reader.read_into(ro)
        with pytest.raises(FileExistsError, match="another --prefix"):
            PagePublisher(prefix)
        page.close()


def test_stalled_writer_is_reported(prefix: str) -> None:
    with PagePublisher(prefix) as pub:
        pub.graphics["status"] = int(P.AcStatus.LIVE)
        pub.physics["packetId"] = 10
        pub.publish()
        with shm.PageSet(prefix) as ps:
            state, packets = shm.observe_liveness(ps, 0.15)
            assert packets == 0 and state == "stalled"  # frozen although status says LIVE: not a pause
        tracker = _core.LivenessTracker()
        tracker.update(10, int(P.AcStatus.LIVE), 0.0)
        assert tracker.update(10, int(P.AcStatus.LIVE), 1.5) == _core.Liveness.STALE
        assert tracker.stalls == 1


def test_owner_only_permissions(prefix: str) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("POSIX permissions")
    import os
    import stat

    with PagePublisher(prefix):
        mode = stat.S_IMODE(os.stat(f"/dev/shm/{prefix}physics").st_mode)
        assert mode == 0o600
