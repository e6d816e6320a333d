"""Demonstrations: laps driven by someone else, kept in the replay for good (DQfD, Hester et al. 2018).

A demonstration set is a ``.npz`` of n-step transitions in the config's own observation and action
space (``obs, actions, rewards, discounts, terminated, next_obs``) plus the settings that make them
comparable (observation size, action set, control rate, n-step, γ). :func:`drive_laps` records one by
driving the config's env — flying laps, one car — with a driver:

- ``reference``: the built-in reference driver (C++ ``ReferenceDriver``), closed loop: each env step it
  reads the car and gives continuous (steer, throttle, brake); below 150 Hz with the options for held
  controls (:func:`ac_core.sim.reference.driver_options`: more grip margin, a stiffer speed loop);
- a checkpoint: its greedy policy.

**Continuous controls → the discrete table.** A continuous (steer, throttle, brake) becomes the row of
the config's action table (``env.action_set``) nearest to it, steering weighted ×2
(:func:`ac_core.env.actions.nearest_discrete`): throttle and brake are never pressed together in a
row, and a row's steering is a *target* the env approaches at ``steer_rate`` per second. With the
63-row ``discrete_fine`` table the rounded reference driver laps Spa within 1 % of its own time at
111 Hz (``tests/test_env_sim.py``); at the CPU config's 10 Hz, with the held-controls options, it
laps in 1:54.46 (112 % of its unheld lap; ``ac-core demo`` prints each lap). Transitions come from the
env itself, so their rewards, ends and n-step returns are exactly training's.

Training with ``train.demonstrations: PATH`` (:class:`DemonstrationReplay`): the set stays in the replay
for the whole run beside the agent's own experience; each batch takes ``agent.demo_share`` of its rows
from it, and those rows add DQfD's large-margin loss
``max_a [Q(s, a) + m·1(a ≠ a_E)] − Q(s, a_E)`` (``agent.demo_margin`` m, weight ``agent.demo_loss_weight``)
to the quantile loss, so the demonstrated action is ranked first by at least m. Before a fresh run's
first env step the trainer takes ``agent.demo_pretrain_steps`` gradient steps on the set alone (DQfD's
pre-training, :meth:`ac_core.train.learners.InlineLearner.pretrain`); the set also counts towards
``learning_starts``.

A demonstrator slower than the agent can become holds it to its own pace: with the reference driver's
10 Hz laps (112 % of the reference) kept at full weight, the agent lapped from 125 k steps but its best
laps stayed at 109–111 % through 1.2 M steps (docs/agent.md, "Demonstrations"). ``agent.demo_fade_steps``
lets both the batch share and the large-margin weight fall linearly to zero over that many env steps
(:meth:`DemonstrationReplay.fade_to`), after which training is the agent's own experience alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ac_core.agents.replay import ReplayBatch, ReplayBuffer
from ac_core.errors import InputError

FORMAT_VERSION = 1
_ARRAYS = ("obs", "actions", "rewards", "discounts", "terminated", "next_obs")


class DemonstrationError(InputError, ValueError):
    """A demonstration file that does not fit the run; the message names the mismatch and the fix."""


@dataclass
class Demonstrations:
    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    discounts: np.ndarray
    terminated: np.ndarray
    next_obs: np.ndarray
    meta: dict[str, Any]

    def __len__(self) -> int:
        return len(self.actions)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **{name: getattr(self, name) for name in _ARRAYS},
                                meta=np.array(repr(self.meta)))
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> Demonstrations:
        import ast

        try:
            with np.load(Path(path), allow_pickle=False) as data:
                arrays = {name: np.asarray(data[name]) for name in _ARRAYS}
                meta = ast.literal_eval(str(data["meta"]))
        except FileNotFoundError:
            raise DemonstrationError(f"{path}: demonstration file not found; record one with "
                                     "`ac-core demo --config CFG --laps N --out PATH`") from None
        except (OSError, KeyError, ValueError, SyntaxError) as exc:
            raise DemonstrationError(f"{path}: not a demonstration file ({type(exc).__name__}: {exc}); "
                                     "record one with `ac-core demo`") from None
        return cls(**arrays, meta=meta)

    def check_fits(self, cfg: Any, obs_dim: int, n_actions: int, path: str) -> None:
        """Refuse a set recorded for another observation, action table, control rate, n-step or γ."""
        want = expected_meta(cfg, obs_dim, n_actions)
        for key, value in want.items():
            have = self.meta.get(key)
            if have != value:
                raise DemonstrationError(f"{path}: recorded with {key} = {have!r}, this run has {value!r}; "
                                         f"record the demonstrations again with this config (`ac-core demo`)")


def expected_meta(cfg: Any, obs_dim: int, n_actions: int) -> dict[str, Any]:
    return {"format": FORMAT_VERSION, "obs_dim": int(obs_dim), "n_actions": int(n_actions),
            "action_set": str(cfg.env.action_set), "control_hz": float(cfg.env.control_hz),
            "n_step": int(cfg.agent.n_step), "gamma": float(cfg.agent.gamma)}


Driver = Callable[[Any, np.ndarray], int]  # (env, obs) -> action index


def reference_driver(env: Any, options: Any = None) -> Driver:
    """The built-in reference driver's controls each step, as the nearest row of the env's action table
    (``options``: its DriverOptions; default those for the env's control rate)."""
    from ac_core import _core
    from ac_core.env import actions as A
    from ac_core.sim.reference import driver_options

    backend = env.core.backend
    options = options if options is not None else driver_options(env.settings.control_hz)
    driver = _core.ReferenceDriver(backend.track.core, backend.batch, options)
    table = A.action_table(env.settings.action_set)

    def act(_env: Any, _obs: np.ndarray) -> int:
        driver.drive(backend.batch, 0)
        c = backend.batch.controls[0]
        return int(A.nearest_discrete(np.array([[c["steer"], c["throttle"], c["brake"]]]), table)[0])

    return act


def checkpoint_driver(checkpoint: str | Path) -> Driver:
    from ac_core.train.checkpoint_eval import load_agent

    agent, _, _ = load_agent(checkpoint)

    def act(_env: Any, obs: np.ndarray) -> int:
        return int(agent.evaluation_actions(obs[None])[0])

    return act


MAX_EPISODES_PER_LAP = 3  # a driver that leaves the track this often per lap asked for gives up


class EpisodeTransitions:
    """One driven episode as n-step transitions, with the laps it completed; :meth:`kept` cuts an episode
    that ended off the track back to its last completed lap (the steps into a crash would teach the margin
    loss to crash). Used for laps driven in the env (:func:`drive_laps`) and for recorded laps
    (:mod:`ac_core.train.recordings`)."""

    def __init__(self, n_step: int, gamma: float) -> None:
        from ac_core.agents.replay import NStepAssembler

        self.assembler = NStepAssembler(1, n_step, gamma)
        self.start()

    def start(self) -> None:
        self.assembler.reset()  # nothing pending from an episode that ended at its last lap needed
        self.rows: list[tuple[np.ndarray, ...]] = []
        self.laps = self.steps = self.kept_steps = 0

    def add(self, obs: np.ndarray, action: int, reward: float, next_obs: np.ndarray, terminated: bool,
            truncated: bool, lap_completed: bool) -> None:
        self.steps += 1
        out = self.assembler.add(obs[None], np.array([action]), np.array([reward]), next_obs[None],
                                 np.array([terminated]), np.array([truncated]))
        if out is not None:  # one car: row k of the episode starts at its step k
            self.rows.append(out)
        if lap_completed:
            self.laps += 1
            self.kept_steps = self.steps

    def kept(self, ended_off_track: bool) -> tuple[np.ndarray, ...] | None:
        """The episode's transitions to keep (all of them, or up to its last lap when it ended off the
        track); None when that leaves nothing."""
        keep = self.kept_steps if ended_off_track else self.steps
        if not keep or not self.rows:
            return None
        return tuple(np.concatenate([p[i] for p in self.rows])[:keep] for i in range(6))


def drive_laps(cfg: Any, laps: int, driver: str = "reference", seed: int = 0,
               echo: Callable[[str], None] = print) -> Demonstrations:
    """Drive ``laps`` complete flying laps of the config's env with ``driver`` ("reference" or a
    checkpoint path) and return them as n-step transitions (the driver's lap times are echoed).

    An episode that ends off the track is cut back to its last completed lap and the next episode starts
    (seed + 1, …), until ``laps`` laps are kept or ``MAX_EPISODES_PER_LAP × laps`` episodes have been
    driven."""
    from ac_core.env import AssettoCorsaEnv
    from ac_core.train.racing import LAP_SECONDS_ALLOWED, env_settings_from_config

    if laps < 1:
        raise DemonstrationError(f"--laps {laps}: record at least one lap")
    settings = env_settings_from_config(cfg.env.to_kwargs(), backend="sim", lap_start="flying", max_laps=laps,
                                        max_episode_seconds=LAP_SECONDS_ALLOWED * laps)
    env = AssettoCorsaEnv(settings)
    parts: list[tuple[np.ndarray, ...]] = []
    laps_done = episodes = 0
    try:
        if not hasattr(env.action_space, "n"):
            raise DemonstrationError(f"env.action_set {settings.action_set!r} is continuous; demonstrations "
                                     "are stored as rows of a discrete action table")
        act = reference_driver(env) if driver == "reference" else checkpoint_driver(driver)
        episode = EpisodeTransitions(cfg.agent.n_step, cfg.agent.gamma)
        while laps_done < laps and episodes < MAX_EPISODES_PER_LAP * laps:
            obs, info = env.reset(seed=seed + episodes)
            episode.start()
            episodes += 1
            done = terminated = False
            while not done:
                action = act(env, obs)
                next_obs, reward, terminated, truncated, info = env.step(action)
                episode.add(obs, action, reward, next_obs, terminated, truncated, bool(info.get("lap_completed")))
                if info.get("lap_completed"):
                    echo(f"lap {laps_done + episode.laps}: {info.get('last_lap_time', float('nan')):.3f} s")
                obs, done = next_obs, terminated or truncated
                if laps_done + episode.laps == laps:  # enough: the laps after them are not asked for
                    break
            if terminated:
                echo(f"episode {episodes} left the track after {episode.laps} lap(s); its laps are kept, "
                     "the unfinished one is dropped")
            rows = episode.kept(ended_off_track=terminated)
            if rows is not None:
                parts.append(rows)
            laps_done += episode.laps
        obs_dim, n_actions = int(np.prod(env.observation_space.shape)), int(env.action_space.n)
    finally:
        env.close()
    if not parts:
        raise DemonstrationError(f"driver {driver} completed no lap in {episodes} episodes; demonstrations "
                                 "need a driver that laps at this control rate (a trained checkpoint)")
    if laps_done < laps:
        echo(f"the driver completed {laps_done} of {laps} laps in {episodes} episodes; those are kept")
    return joined(parts, {**expected_meta(cfg, obs_dim, n_actions), "driver": str(driver), "laps": laps_done,
                          "seed": seed, "episodes": episodes})


def joined(parts: list[tuple[np.ndarray, ...]], meta: dict[str, Any]) -> Demonstrations:
    """Episodes' kept transitions as one demonstration set."""
    arrays = [np.concatenate([p[i] for p in parts]) for i in range(6)]
    return Demonstrations(*arrays, meta=meta)


class DemonstrationReplay:
    """The run's replay plus a demonstration set that is never overwritten (see the module docstring).

    Behaves as the replay it wraps for the learners: ``add_batch`` goes to the agent's replay, ``sample``
    mixes ``share`` of each batch from the demonstrations and marks them in ``ReplayBatch.expert``,
    ``state_dict`` is the agent's replay only (the set is reloaded from its file)."""

    def __init__(self, replay: ReplayBuffer, demos: Demonstrations, share: float, fade_steps: int = 0) -> None:
        from ac_core.agents.agent import LinearSchedule  # training's own schedules (torch is loaded there)

        self.replay, self.share = replay, float(share)
        self.fade = LinearSchedule(1.0, 0.0, int(fade_steps)) if fade_steps > 0 else None  # None: never fades
        self.weight = 1.0  # the demonstrations' weight now: 1 at the start, 0 once the fade is over
        self.demos = ReplayBuffer(len(demos), replay.obs_dim)
        self.demos.add_batch(demos.obs, demos.actions, demos.rewards, demos.discounts, demos.terminated,
                             demos.next_obs)

    def __len__(self) -> int:
        return len(self.replay) + len(self.demos)

    def add_batch(self, *transitions: np.ndarray) -> np.ndarray:
        return self.replay.add_batch(*transitions)

    def fade_to(self, step: int) -> None:
        """Set the demonstrations' weight for env step ``step`` (``agent.demo_fade_steps``; the learners
        call it where they set the learning rate, so resumes and both learners follow the same fade)."""
        if self.fade is not None:
            self.weight = self.fade(step)

    def sample(self, batch_size: int, rng: np.random.Generator, beta: float = 1.0) -> ReplayBatch:
        share = self.share * self.weight
        n_demo = batch_size if len(self.replay) == 0 else min(round(share * batch_size), batch_size)
        own = self.replay.sample(batch_size - n_demo, rng, beta) if n_demo < batch_size else None
        demo = self.demos.sample(n_demo, rng) if n_demo else None
        parts = [b for b in (own, demo) if b is not None]
        expert = np.concatenate([np.full(len(b.actions), b is demo, dtype=np.float32) for b in parts])
        if own is not None and demo is not None:
            # prioritised replay's weights are relative to its own batch; demonstrations weigh 1
            demo.weights = np.ones_like(demo.weights)
        batch = ReplayBatch(*(np.concatenate([getattr(b, name) for b in parts]) for name in (
            "obs", "actions", "rewards", "discounts", "terminated", "next_obs", "indices", "weights")))
        batch.expert = expert
        batch.expert_weight = self.weight
        batch.indices = np.where(expert > 0, -1, batch.indices)
        return batch

    def update_priorities(self, indices: np.ndarray, priorities: np.ndarray) -> None:
        own = indices >= 0
        if own.any():
            self.replay.update_priorities(indices[own], priorities[own])

    def state_dict(self) -> dict[str, Any]:
        return self.replay.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.replay.load_state_dict(state)


def with_demonstrations(replay: ReplayBuffer, cfg: Any, obs_dim: int, n_actions: int) -> Any:
    """The run's replay, wrapped with ``train.demonstrations`` when the config names a set."""
    path = cfg.train.demonstrations
    if not path:
        return replay
    demos = Demonstrations.load(path)
    demos.check_fits(cfg, obs_dim, n_actions, str(path))
    return DemonstrationReplay(replay, demos, cfg.agent.demo_share, cfg.agent.demo_fade_steps)
