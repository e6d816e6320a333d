"""Control write from Python: one PadFeeder.write (target ≤ 1 µs) and one VJoyFeeder.write (one
UpdateVJD, against the in-process fake DLL), against a pyvjoy-style caller that makes one ctypes
SetAxis call per axis (three, each a full UpdateVJD in the real DLL) on the same fake.

What the fake DLL can and cannot show: its SetAxis and UpdateVJD only store the values and count the
calls (no driver, no kernel transition, no HID report), so a call into it costs about what the call
itself costs. The vJoy rows therefore measure the caller's side (Python + binding for ac_core's one
write, three ctypes calls for pyvjoy), and the calls counted: one UpdateVJD per write against three
driver calls. The real saving, two driver round trips per step (each a DeviceIoControl into vJoy's
driver, tens of µs on the machines vJoy's users report), is not in these figures; on Windows with vJoy
installed it would be measured against the real DLL.
"""

from __future__ import annotations

import ctypes
import os

import pytest

from ac_core import _core, _testing

from .conftest import record


@pytest.fixture
def pad_feeder():
    feeder = _core.PadFeeder(f"acbenchpad{os.getpid()}_")
    yield feeder
    feeder.close()


@pytest.fixture
def fake_vjoy():
    _testing.fake_vjoy_reset()
    feeder = _testing.fake_vjoy_feeder(1)  # acquires device 1 on the fake
    yield feeder
    feeder.close()
    _testing.fake_vjoy_reset()


@pytest.mark.benchmark(group="control write, pad page")  # no like-for-like baseline: no other tool writes it
def test_pad_feeder_write(benchmark, pad_feeder):
    benchmark(pad_feeder.write, 0.1, 0.8, 0.0)
    record(benchmark, "control write (pad page)", "ac_core", "≤ 1 µs", 1000.0,
           what="PadFeeder.write: seqlocked store to the pad page the simulator reads")  # fmt: skip
    assert pad_feeder.sequence > 0


@pytest.mark.benchmark(group="control write from Python")
def test_vjoy_feeder_write_fake(benchmark, fake_vjoy):
    before = _testing.fake_vjoy_state()["update_calls"]
    benchmark(fake_vjoy.write, 0.1, 0.8, 0.0)
    record(benchmark, "control write (vJoy, one UpdateVJD)", "ac_core", "one UpdateVJD per step",
           what="VJoyFeeder.write: 1 driver call (fake DLL: the caller's cost only)")  # fmt: skip
    state = _testing.fake_vjoy_state()
    assert state["set_axis_calls"] == 0 and state["update_calls"] > before


@pytest.mark.benchmark(group="control write from Python")
def test_pyvjoy_style_set_axis_per_axis(benchmark, fake_vjoy):
    addresses = _testing.fake_vjoy_addresses()
    set_axis = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_int32, ctypes.c_uint32, ctypes.c_uint32)(addresses["SetAxis"])

    def write(steer: float, throttle: float, brake: float) -> None:
        # What pyvjoy's VJoyDevice.set_axis does per axis: scale in Python, one SetAxis each.
        set_axis(int(0x1 + (steer + 1.0) * 0.5 * 0x7FFF), 1, 0x30)
        set_axis(int(0x1 + throttle * 0x7FFF), 1, 0x31)
        set_axis(int(0x1 + brake * 0x7FFF), 1, 0x32)

    benchmark(write, 0.1, 0.8, 0.0)
    record(benchmark, "control write (vJoy, one UpdateVJD)", "baseline",
           what="pyvjoy-style SetAxis x3 via ctypes: 3 driver calls (fake DLL: the caller's cost only)")
    assert _testing.fake_vjoy_state()["set_axis_calls"] >= 3
