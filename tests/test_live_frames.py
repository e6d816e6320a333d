"""Every physics packet reaches the env on the live path (poller → ring → env): an excursion shorter
than one step is seen by the episode logic and the reward, and every frame is accounted for in
``info["timing"]`` (frames, dropped, missed packets, packetId gap)."""

from __future__ import annotations

import time

import numpy as np

from ac_core.env import AssettoCorsaEnv
from ac_core.env.backends.live import AcBackend
from ac_core.env.core import RacingCore

from .test_env_live import FakeAc, _ac_settings, fake_game_on_track

EXCURSION_PACKETS = 3  # tyres out for 3 physics packets (9 ms), far less than a step (33 packets)


class ExcursionAc(FakeAc):
    """A FakeAc that, once armed, puts all four tyres off track for EXCURSION_PACKETS packets in the
    middle of the step the env is waiting on (read from its stepper's target packetId), then back."""

    backend: AcBackend | None = None
    armed = False
    excursion_ids: tuple[int, ...] | list[int] = ()

    def _run(self) -> None:  # the FakeAc loop with the excursion in the published pages
        self.excursion_ids = []
        super()._run()

    def _publish_next(self) -> None:
        p = self.pub.physics
        p["packetId"] += 1
        pid = int(p["packetId"])
        target = self.backend.step_target_packet_id if self.backend is not None else 0
        middle = target - 15  # well inside the step that ends on `target`
        inside = self.armed and middle <= pid < middle + EXCURSION_PACKETS
        if inside:
            self.excursion_ids.append(pid)
            if len(self.excursion_ids) == EXCURSION_PACKETS:
                self.armed = False
        p["numberOfTyresOut"] = 4 if inside else 0
        self.pub.publish("physics")


def test_an_excursion_shorter_than_one_step_reaches_the_episode_logic_and_the_reward(prefix: str) -> None:
    with fake_game_on_track(prefix, ExcursionAc) as (fake, _):
        assert isinstance(fake, ExcursionAc)
        env = AssettoCorsaEnv(_ac_settings(prefix, reset_timeout_s=2.0))
        try:
            env.reset(seed=0)
            backend = env.core.backend
            assert isinstance(backend, AcBackend)
            fake.backend = backend
            k = env.core.settings.ticks_per_step
            infos = [env.step(13)[4] for _ in range(2)]
            fake.armed = True
            for _ in range(6):
                infos.append(env.step(13)[4])
                if not fake.armed:
                    infos.append(env.step(13)[4])
                    break
        finally:
            env.close()
    assert len(fake.excursion_ids) == EXCURSION_PACKETS, "the excursion was published"
    seen = [i for i, info in enumerate(infos) if info["step_max_tyres_out"] == 4]
    assert len(seen) == 1, [info["step_max_tyres_out"] for info in infos]
    step = infos[seen[0]]
    # The newest frame (the observation) is back on track: only the step's other frames saw it.
    assert step["tyres_out"] == 0
    assert step["off_track_events"] == 1 and infos[seen[0] - 1]["off_track_events"] == 0
    assert step["reward_off_track"] < 0 and infos[seen[0] - 1]["reward_off_track"] == 0
    assert infos[-1]["off_track_events"] == 1 and infos[-1]["reward_off_track"] == 0  # one event, over
    for info in infos[1:]:  # every packet of a step is a frame of it or a counted miss; none dropped
        timing = info["timing"]
        assert timing["dropped"] == 0, timing
        assert timing["frames"] + timing["missed_packets"] == timing["packet_gap"] >= 1, timing
        assert info["step_frames"] == timing["frames"]
    # Targets are chained k packets apart, so a step that woke late leaves the next one a shorter gap;
    # together they cover the physics that ran (the first packet may be up to k past its target).
    gaps = [info["timing"]["packet_gap"] for info in infos[1:]]
    assert sum(gaps) >= (len(gaps) - 1) * k, gaps


class SmallRingAc(AcBackend):
    ring_frames = 64


def test_frames_the_ring_could_not_hold_are_counted_as_dropped(prefix: str) -> None:
    with fake_game_on_track(prefix):
        settings = _ac_settings(prefix)
        core = RacingCore(settings, backend=SmallRingAc(settings))
        try:
            core.reset(np.zeros(1, dtype=np.int64), np.random.default_rng(0))
            core.step(np.array([13]))
            # ~150 packets (the fake game runs at 250-333 Hz) into a 64-frame ring while the env is not stepping
            time.sleep(0.6)
            core.step(np.array([13]))
            timing = core.last_timing
            frames = core.backend.frame_stats
        finally:
            core.close()
    assert timing["frames"] == 64 + 1  # the full ring, and the newest frame (the observation)
    # Every packet since the previous step is a frame taken, a frame dropped or a packet the poller
    # missed (the missed counts of dropped frames go with them: the gap bounds the sum).
    assert timing["dropped"] > 30, timing
    assert timing["packet_gap"] - timing["missed_packets"] >= timing["dropped"] + timing["frames"], timing
    assert timing["dropped"] + timing["frames"] >= timing["packet_gap"] - frames["missed_packets"], timing
    assert frames["dropped"] >= timing["dropped"]


def test_every_packet_of_a_sim_live_step_at_time_scale_10_is_accounted_for() -> None:
    """The simulator process at 10× (3330 packets/s): each step takes every frame the poller made since
    the previous step (none dropped), and every packetId in between is a frame or a counted miss (a
    packet the writer replaced before the poller could read it: 0 on an idle machine, see
    docs/plumbing.md for what a loaded one does)."""
    env = AssettoCorsaEnv(backend="sim-live", lap_start="flying", time_scale=10.0)
    try:
        env.reset(seed=0)
        timings = []
        for _ in range(40):
            _, _, term, trunc, info = env.step(12)
            timings.append(info["timing"])
            if term or trunc:
                break
    finally:
        env.close()
    assert len(timings) > 5 and all(t["dropped"] == 0 for t in timings), timings
    assert all(t["frames"] + t["missed_packets"] == t["packet_gap"] for t in timings[1:]), timings
    # The steps covered the physics that ran: targets are chained k packets apart, so the last step's
    # packet is (len - 1) * k past the first step's *target*; the first packet may be up to k past that
    # target (a loaded machine wakes late; further, and the stepper re-anchors on the packet itself).
    k = env.core.settings.ticks_per_step
    assert timings[-1]["packet_id"] - timings[0]["packet_id"] >= (len(timings) - 2) * k
