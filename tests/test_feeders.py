"""Control feeders: pad page (with the simulator's reader), vJoy against the fake DLL table, the
pyvjoy fallback against a fake pyvjoy module, uinput encoding decoded from a pipe, the factory."""

from __future__ import annotations

import math
import os
import stat
import struct
import sys
import types

import pytest

from ac_core import _core, _testing
from ac_core import feeders as F

# struct input_event on 64-bit Linux: timeval (2 x 8 bytes), u16 type, u16 code, s32 value.
INPUT_EVENT = struct.Struct("<qqHHi")
EV_SYN, EV_KEY, EV_ABS = 0, 1, 3
ABS_X, ABS_Y, ABS_Z, ABS_RX = 0, 1, 2, 3
BTN_TRIGGER = 0x120


# ---- pad ------------------------------------------------------------------------------------------


def test_pad_feeder_round_trip_through_the_sim_reader(prefix: str):
    with_link = _testing.PadLink(prefix, 0.0)
    assert with_link.poll() is None  # no feeder yet
    feeder = F.make_feeder("pad", prefix=prefix)
    try:
        assert feeder.kind == "pad"
        assert feeder.page_name == f"{prefix}pad"
        feeder.write(-0.25, 0.5, 0.125, 1.0, F.buttons("gear_up", "restart"))
        state = with_link.poll()
        assert state["sequence"] == 1 == feeder.sequence
        assert (state["steer"], state["throttle"], state["brake"], state["clutch"]) == (-0.25, 0.5, 0.125, 1.0)
        assert state["buttons"] == 0b101
        assert state["writer_pid"] == os.getpid()
        assert state["write_time_ns"] <= _core.steady_now_ns()
        with_link.store_applied(state["sequence"], 1234)
        assert feeder.applied == (1, 1234)
    finally:
        feeder.close()
    assert with_link.poll() is None  # the feeder detached: the simulator stops applying it
    assert not _core.SharedPage.exists(f"{prefix}pad")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/dev/shm permissions")
def test_pad_page_is_owner_only(prefix: str):
    feeder = _core.PadFeeder(prefix)
    try:
        mode = stat.S_IMODE(os.stat(f"/dev/shm/{prefix}pad").st_mode)
        assert mode == 0o600
    finally:
        feeder.close()


def test_out_of_range_values_are_clamped_and_counted(prefix: str):
    feeder = _core.PadFeeder(prefix)
    link = _testing.PadLink(prefix, 0.0)
    try:
        feeder.write(-3.0, 1.5, -0.5)
        state = link.poll()
        assert (state["steer"], state["throttle"], state["brake"]) == (-1.0, 1.0, 0.0)
        assert feeder.stats == {"writes": 1, "clamped_values": 3, "rejected": 0}
    finally:
        feeder.close()


@pytest.mark.parametrize("field", ["steer", "throttle", "brake", "clutch"])
def test_nan_is_rejected_and_never_sent(prefix: str, field: str):
    feeder = _core.PadFeeder(prefix)
    try:
        feeder.write(0.1, 0.2, 0.3)
        values = {"steer": 0.0, "throttle": 0.0, "brake": 0.0, "clutch": 0.0, field: math.nan}
        with pytest.raises(ValueError, match=f"'{field}' is NaN"):
            feeder.write(**values)
        with pytest.raises(ValueError, match="infinite"):
            feeder.write(math.inf, 0.0, 0.0)
        assert feeder.sequence == 1
        assert feeder.stats["rejected"] == 2
    finally:
        feeder.close()


def test_second_pad_feeder_on_a_live_page_is_refused(prefix: str):
    feeder = _core.PadFeeder(prefix)
    try:
        with pytest.raises(FileExistsError):
            _core.PadFeeder(prefix, replace_stale=False)
    finally:
        feeder.close()
    with pytest.raises(RuntimeError, match="closed"):
        feeder.write(0.0, 0.0, 0.0)


# ---- vJoy (C++ feeder against the fake DLL) -------------------------------------------------------


@pytest.fixture
def fake_vjoy():
    _testing.fake_vjoy_reset()
    yield
    _testing.fake_vjoy_reset()


def test_vjoy_feeder_one_update_per_write(fake_vjoy):
    _testing.fake_vjoy_configure(axis_min=0, axis_max=32767)
    feeder = _testing.fake_vjoy_feeder(1)
    assert feeder.ranges["steer"] == (0, 32767)
    assert feeder.versions == (0x0219, 0x0219)
    feeder.write(1.0, 0.5, 0.0, 0.0, F.buttons("gear_down"))
    state = _testing.fake_vjoy_state()
    assert state["update_calls"] == 1 and state["set_axis_calls"] == 0
    assert state["axes"] == (32767, 16384, 0, 0)
    assert state["buttons"] == 2
    assert state["device"] == 1
    feeder.close()
    state = _testing.fake_vjoy_state()
    assert state["acquired_device"] == 0
    assert state["axes"][0] == 16384  # centred on release


@pytest.mark.parametrize(
    ("config", "device", "code", "text"),
    [
        ({"enabled": False}, 1, "driver_disabled", "Configure vJoy"),
        ({"dll_version": 0x0218}, 1, "version_mismatch", "0x0218"),
        ({}, 3, "device_missing", "device 3"),
        ({"status": _testing.VJD_STAT_BUSY, "owner_pid": 4321}, 1, "device_busy", "pid 4321"),
        ({"axis_mask": 0b0111}, 1, "axis_missing", "Rx axis"),
    ],
)
def test_vjoy_start_up_errors(fake_vjoy, config, device, code, text):
    _testing.fake_vjoy_configure(**config)
    with pytest.raises(F.VJoyError, match=text) as info:
        _testing.fake_vjoy_feeder(device)
    assert info.value.code == code


def test_vjoy_update_failure_is_reported(fake_vjoy):
    feeder = _testing.fake_vjoy_feeder(1)
    _testing.fake_vjoy_configure(fail_update=True)
    with pytest.raises(F.VJoyError, match="UpdateVJD failed"):
        feeder.write(0.0, 0.0, 0.0)
    _testing.fake_vjoy_configure(fail_update=False)
    feeder.close()


def test_unknown_fake_setting_is_an_error():
    with pytest.raises(KeyError, match="bogus"):
        _testing.fake_vjoy_configure(bogus=1)


@pytest.mark.skipif(sys.platform == "win32", reason="checks the non-Windows message")
def test_native_vjoy_is_windows_only():
    with pytest.raises(F.VJoyError, match="Windows-only") as info:
        _core.VJoyFeeder(1)
    assert info.value.code == "not_installed"


# ---- pyvjoy fallback ------------------------------------------------------------------------------


class FakePosition:
    def __init__(self) -> None:
        for name in ("wAxisX", "wAxisY", "wAxisZ", "wAxisXRot", "lButtons"):
            setattr(self, name, 0)


def fake_pyvjoy_module() -> types.ModuleType:
    module = types.ModuleType("pyvjoy")
    module.updates = []  # type: ignore[attr-defined]

    class VJoyDevice:
        def __init__(self, rID: int) -> None:
            if rID != 1:
                raise RuntimeError(f"device {rID} not acquired")
            self.rID = rID
            self.data = FakePosition()

        def update(self) -> None:
            d = self.data
            module.updates.append((d.wAxisX, d.wAxisY, d.wAxisZ, d.wAxisXRot, d.lButtons))

    module.VJoyDevice = VJoyDevice  # type: ignore[attr-defined]
    return module


@pytest.fixture
def pyvjoy(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = fake_pyvjoy_module()
    monkeypatch.setitem(sys.modules, "pyvjoy", module)
    return module


def test_pyvjoy_feeder_sets_all_fields_then_one_update(pyvjoy):
    feeder = F.PyVJoyFeeder(1)
    feeder.write(-1.0, 1.0, 0.5, 0.0, F.buttons("drs"))
    assert pyvjoy.updates == [(0x1, 0x8000, round(1 + 0.5 * 0x7FFF), 0x1, 16)]
    feeder.write(2.0, 0.0, 0.0)
    assert pyvjoy.updates[-1][0] == 0x8000
    assert feeder.stats == {"writes": 2, "clamped_values": 1, "rejected": 0}
    with pytest.raises(ValueError, match="'brake' is NaN"):
        feeder.write(0.0, 0.0, math.nan)
    assert len(pyvjoy.updates) == 2
    feeder.close()
    assert pyvjoy.updates[-1][:3] == (round(1 + 0.5 * 0x7FFF), 0x1, 0x1)
    with pytest.raises(RuntimeError, match="closed"):
        feeder.write(0.0, 0.0, 0.0)


@pytest.mark.skipif(sys.platform == "win32", reason="the native loader succeeds or fails for real there")
def test_factory_falls_back_to_pyvjoy_when_the_native_loader_fails(pyvjoy):
    feeder = F.make_feeder("vjoy")
    assert isinstance(feeder, F.PyVJoyFeeder)
    feeder.write(0.0, 0.25, 0.0)
    assert len(pyvjoy.updates) == 1


@pytest.mark.skipif(sys.platform == "win32", reason="the native loader succeeds or fails for real there")
def test_factory_explains_both_failures_without_pyvjoy(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "pyvjoy", None)  # import pyvjoy -> ImportError
    with pytest.raises(F.FeederUnavailableError, match=r"Windows-only.*pyvjoy is not installed"):
        F.make_feeder("vjoy")


def test_pyvjoy_that_exits_on_import_is_contained(tmp_path, monkeypatch: pytest.MonkeyPatch):
    package = tmp_path / "pyvjoy"
    package.mkdir()
    (package / "__init__.py").write_text("import sys\nsys.exit('Unable to load vJoy SDK DLL')\n")
    monkeypatch.delitem(sys.modules, "pyvjoy", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(F.FeederUnavailableError, match="Unable to load vJoy SDK DLL"):
        F.PyVJoyFeeder(1)


# ---- uinput ---------------------------------------------------------------------------------------


def read_events(fd: int, count: int) -> list[tuple[int, int, int]]:
    data = os.read(fd, INPUT_EVENT.size * 64)
    assert len(data) == count * INPUT_EVENT.size
    return [INPUT_EVENT.unpack_from(data, i * INPUT_EVENT.size)[2:] for i in range(count)]


@pytest.mark.skipif(not _core.UINPUT_AVAILABLE, reason="uinput is Linux-only")
def test_uinput_frame_is_one_write_ending_in_syn_report():
    read_fd, write_fd = os.pipe()
    try:
        feeder = _testing.uinput_feeder_on_fd(write_fd)
        feeder.write(-1.0, 0.5, 1.0, 0.0, F.buttons("gear_up"))
        events = read_events(read_fd, 4 + 8 + 1)
        axes = [(EV_ABS, ABS_X, -32767), (EV_ABS, ABS_Y, 16384), (EV_ABS, ABS_Z, 32767), (EV_ABS, ABS_RX, 0)]
        assert events[:4] == axes
        assert events[4] == (EV_KEY, BTN_TRIGGER, 1)
        assert [e[1] for e in events[4:12]] == list(range(BTN_TRIGGER, BTN_TRIGGER + 8))
        assert events[-1] == (EV_SYN, 0, 0)
        feeder.write(0.0, 0.0, 0.0, 0.0, F.buttons("gear_down"))
        events = read_events(read_fd, 4 + 2 + 1)  # only the two buttons that changed
        assert events[4:6] == [(EV_KEY, BTN_TRIGGER, 0), (EV_KEY, BTN_TRIGGER + 1, 1)]
        with pytest.raises(ValueError, match="NaN"):
            feeder.write(math.nan, 0.0, 0.0)
        assert feeder.stats["writes"] == 2
        feeder.close()
    finally:
        os.close(read_fd)
        os.close(write_fd)


@pytest.mark.skipif(not _core.UINPUT_AVAILABLE, reason="uinput is Linux-only")
def test_uinput_errors_say_how_to_fix(tmp_path):
    with pytest.raises(F.UinputError, match="modprobe uinput"):
        _core.UinputFeeder(str(tmp_path / "missing"))
    not_a_device = tmp_path / "plain_file"
    not_a_device.write_bytes(b"")
    with pytest.raises(F.UinputError, match="not a uinput device"):
        _core.UinputFeeder(str(not_a_device))
    not_a_device.chmod(0o400)
    if os.geteuid() != 0:  # root ignores file permissions
        with pytest.raises(F.UinputError, match="udev rule"):
            _core.UinputFeeder(str(not_a_device))
    assert issubclass(F.UinputError, OSError)


# ---- factory --------------------------------------------------------------------------------------


def test_factory_rejects_unknown_kinds():
    with pytest.raises(ValueError, match="valid: auto, pad, vjoy, uinput"):
        F.make_feeder("joystick")


def test_buttons_by_name():
    assert F.buttons() == 0
    assert F.buttons("gear_up", "gear_down") == 3
    with pytest.raises(ValueError, match="unknown button"):
        F.buttons("horn")
