"""The single-process IQN training loop, for any Gymnasium env (single or vectorised) with a Discrete
action space.

One iteration: batched epsilon-greedy inference for all envs -> env step -> n-step assembly -> replay
-> ``gradient_steps`` updates every ``train_freq`` env steps once the replay holds
``learning_starts`` transitions. Every ``eval_interval`` env steps the evaluation hook runs (greedy
episodes by default) and best.pt is written when its score improves; every ``save_interval`` steps
step_<N>.pt and last.pt are written. However the loop ends (Ctrl-C, SIGTERM, an exception) last.pt
is written (``ac_core.run_directory.finish_run``).

The updates run through a learner (:mod:`ac_core.train.learners`): inline in this loop for the
in-process simulator (deterministic), or in a background thread for the live backends, whose world
does not wait for a gradient step (``train.learner``; ``auto`` picks by backend).

Env-specific parts are hooks (:class:`TrainerHooks`): metrics read from ``info`` every step (lap
times …), the evaluation itself (by default :class:`~ac_core.train.evaluation.Evaluator`'s greedy
episodes), which evaluation key is the score (and whether lower is better, as for lap times), and an
early-stop rule. The run's counters, schedule and checkpoint files are :mod:`ac_core.train.run_state`'s,
shared with the Ray driver.

Resume (``train(resume=True)``) reloads last.pt: weights, optimiser, env-step counter (so epsilon and
every interval continue where they were), RNG states and the best score. The replay buffer is saved
only with ``train.save_replay: true`` (it can be gigabytes); without it the resumed run refills the
replay to ``learning_starts`` before learning again. The episode that was running is dropped.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ac_core.agents.agent import ExponentialSchedule, IQNAgent, LinearSchedule, resolve_device
from ac_core.agents.replay import NStepAssembler, PrioritizedReplayBuffer, ReplayBuffer
from ac_core.config import Config, save_config
from ac_core.run_directory import RunDirectory, finish_run
from ac_core.stop_signals import run_outcome, stop_signals
from ac_core.train.batched_env import BatchedEnv, EnvFactory, StepMetricsHook
from ac_core.train.demonstrations import DemonstrationReplay, with_demonstrations
from ac_core.train.evaluation import EVAL_SEED_OFFSET, Evaluator
from ac_core.train.execution import EtaModel, format_duration
from ac_core.train.learners import InlineLearner, ThreadedLearner
from ac_core.train.run_state import RunCheckpoints, RunState

EvaluateHook = Callable[[IQNAgent, int], Mapping[str, float]]


@dataclass
class TrainerHooks:
    """Plug-in points for env-specific behaviour; every field is optional."""

    step_metrics: StepMetricsHook | None = None  # scalars from infos each step, logged under "env/"
    evaluate: EvaluateHook | None = None  # replaces the default Evaluator (greedy episodes, mean return)
    score_key: str = "eval/mean_return"  # which evaluation metric decides best.pt
    lower_is_better: bool = False  # True for lap times
    score_rule: str = ""  # names what the score means, so a resume scored by another rule drops its best
    stop: Callable[[Mapping[str, float]], bool] | None = None  # early stop, given the eval metrics
    lap_time_key: str = "lap_time_s"  # the step_metrics key holding a just-completed lap's time


@dataclass
class TrainResult:
    step: int
    episodes: int
    gradient_steps: int
    best_score: float | None
    last_eval: dict[str, float] = field(default_factory=dict)
    wall_seconds: float = 0.0
    stopped_early: bool = False
    interrupted: bool = False
    stop_reason: str | None = None  # the signal that stopped the run (SIGINT, SIGTERM …), if one did
    checkpoint_account: str = ""  # one line: where the final checkpoint went


class Trainer:
    def __init__(self, config: Config, env_factory: EnvFactory, *, eval_env_factory: EnvFactory | None = None,
                 hooks: TrainerHooks | None = None) -> None:
        self.config = config
        self.hooks = hooks or TrainerHooks()
        tcfg, acfg = config.train, config.agent
        self.device = resolve_device(tcfg.device)
        if tcfg.torch_threads:
            # Small MLPs run fastest single-threaded; extra OpenMP threads on a busy CPU only spin.
            torch.set_num_threads(tcfg.torch_threads)
        torch.manual_seed(tcfg.seed)
        np.random.seed(tcfg.seed)
        self.rng = np.random.default_rng(tcfg.seed)  # exploration and replay sampling
        self.env = BatchedEnv(env_factory())
        self.agent = IQNAgent(self.env.obs_dim, self.env.n_actions, acfg, self.device, precision=tcfg.precision,
                              pin_memory=tcfg.pin_memory)
        self.replay = (PrioritizedReplayBuffer(acfg.replay_size, self.env.obs_dim, acfg.priority_alpha)
                       if acfg.prioritized else ReplayBuffer(acfg.replay_size, self.env.obs_dim))
        self.replay = with_demonstrations(self.replay, config, self.env.obs_dim, self.env.n_actions)
        self.assembler = NStepAssembler(self.env.n_envs, acfg.n_step, acfg.gamma)
        self.epsilon = LinearSchedule(acfg.epsilon_start, acfg.epsilon_end, acfg.epsilon_decay_steps)
        self.learning_rate = ExponentialSchedule(acfg.lr, acfg.lr_end, acfg.lr_decay_steps)
        self.beta = LinearSchedule(acfg.priority_beta_start, 1.0, acfg.priority_beta_steps)
        # The evaluator's seed differs from training's so evaluation episodes are not training episodes.
        self.evaluate: EvaluateHook = self.hooks.evaluate or Evaluator(
            eval_env_factory or env_factory, tcfg.eval_episodes, tcfg.seed + EVAL_SEED_OFFSET,
            step_metrics=self.hooks.step_metrics)
        self.checkpoint_dir = Path(tcfg.checkpoint_dir)
        self.state = RunState(tcfg.eval_interval, tcfg.save_interval, self.hooks.score_key, self.hooks.lower_is_better,
                              self.hooks.score_rule)
        self.checkpoints = RunCheckpoints(self.checkpoint_dir, config, self.state, self.rng)
        self.learner = self._make_learner()
        # The ETA the bar shows: a warm-up's measurement when the caller has one (ac-core train), then the
        # run's own pace; tqdm's own estimate would extrapolate the fast steps before learning starts.
        self.eta = EtaModel.for_config(config)

    def _make_learner(self) -> InlineLearner:
        tcfg = self.config.train
        mode = tcfg.learner
        if mode == "auto":
            from ac_core.env.backends import BACKENDS

            # In-process batched simulation waits for the learner; a live world does not.
            mode = "inline" if BACKENDS[self.config.env.backend].batched else "thread"
        if mode == "inline":
            return InlineLearner(self.agent, self.replay, self.rng, self.learning_rate, self.beta)
        # Its own generator: numpy Generators are not thread-safe, and acting keeps using self.rng.
        learner_rng = np.random.default_rng([tcfg.seed, 1])
        return ThreadedLearner(self.agent, self.replay, learner_rng, self.learning_rate, self.beta,
                               tcfg.max_learner_backlog)

    # The run state's counters, as attributes of the trainer (tests, benchmarks and callers read them).
    @property
    def step(self) -> int:
        return self.state.step

    @property
    def episodes(self) -> int:
        return self.state.episodes

    @property
    def best_score(self) -> float | None:
        return self.state.best_score

    @property
    def steps_since_train(self) -> int:
        return self.learner.steps_since_train

    # ----- checkpoints -------------------------------------------------------------------------
    def save(self, name: str, with_replay: bool = False) -> Path:
        self.state.steps_since_train = self.learner.steps_since_train
        return self.checkpoints.save(name, self.agent, replay_state=self.replay.state_dict() if with_replay else None)

    def _save_periodic(self) -> None:
        if self.config.train.keep_step_checkpoints:
            self.save(f"step_{self.state.step}.pt")
        self.save("last.pt", with_replay=self.config.train.save_replay)

    def resume(self) -> bool:
        """Load last.pt (and replay.pt when it matches); returns False if there is nothing to resume."""
        if not self.checkpoints.resume(self.agent, map_location=self.device):
            return False
        self.learner.steps_since_train = self.state.steps_since_train
        self.learner.sync_actor()
        self.checkpoints.restore_replay(self.replay.load_state_dict)
        return True

    # ----- the loop ----------------------------------------------------------------------------
    def _run_evaluation(self, writer: Any) -> bool:
        started = time.perf_counter()
        metrics = dict(self.evaluate(self.agent, self.state.step))
        self.eta.observe_evaluation(time.perf_counter() - started)
        for key, value in metrics.items():
            writer.add_scalar(key, value, self.state.step)
        if self.state.record_evaluation(metrics):
            self.save("best.pt")
        return bool(self.hooks.stop and self.hooks.stop(metrics))

    def _pretrain_on_demonstrations(self) -> None:
        """DQfD's pre-training: before a fresh run's first env step, ``agent.demo_pretrain_steps``
        gradient steps on the demonstration set alone, so the first policy already drives like them."""
        updates = self.config.agent.demo_pretrain_steps
        if self.step or not updates or not isinstance(self.replay, DemonstrationReplay):
            return
        seconds = self.learner.pretrain(updates)
        _log(f"pre-trained on {len(self.replay.demos):,} demonstration transitions: {updates:,} gradient steps "
             f"in {seconds:.0f} s")

    def train(self, resume: bool = False, force: bool = False) -> TrainResult:
        """Run to ``train.total_timesteps`` (or an early stop, Ctrl-C, SIGTERM/SIGHUP/SIGBREAK).

        The run owns its folders for its life (:class:`~ac_core.run_directory.RunDirectory`: a second
        trainer is refused, an earlier run needs ``resume`` or ``force``). However the loop ends — done,
        a stop signal, or an exception — last.pt is written before returning (or raising
        TrainingStopped, which names the cause and the checkpoint), unless the model is not finite.
        """
        tcfg = self.config.train
        with RunDirectory(self.checkpoint_dir, tcfg.log_dir, resume=resume, force=force, log=_log):
            if resume:
                self.resume()
            save_config(self.config, self.checkpoint_dir / "config.yaml")  # human-readable copy of the config
            return self._train_owned()

    def _train_owned(self) -> TrainResult:
        from torch.utils.tensorboard import SummaryWriter
        from tqdm import tqdm

        tcfg, state = self.config.train, self.state
        writer = SummaryWriter(log_dir=tcfg.log_dir)
        # No {remaining}: the postfix's eta comes from self.eta (see __init__).
        progress = tqdm(total=tcfg.total_timesteps, initial=self.step, unit="step", dynamic_ncols=True,
                        disable=not tcfg.progress,
                        bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]")
        evaluated = False  # since the last log line: that interval's pace is not the loop's
        n_envs = self.env.n_envs
        running_return = np.zeros(n_envs)
        running_length = np.zeros(n_envs, dtype=np.int64)
        finished_returns: list[float] = []
        finished_lengths: list[int] = []
        last_return = float("nan")
        stopped_early = False
        start_time = time.perf_counter()
        log_time, log_step = start_time, self.step
        next_log = self.step + tcfg.log_interval
        with run_outcome() as outcome, stop_signals() as stop:
            obs = self.env.reset(seed=tcfg.seed + self.step)
            self.assembler.reset()
            self._pretrain_on_demonstrations()
            self.learner.start()
            while self.step < tcfg.total_timesteps:
                stop.check()
                epsilon = self.epsilon(self.step)
                actions = self.learner.act(obs, epsilon, self.rng)
                result = self.env.step(actions)
                transitions = self.assembler.add(obs, actions, result.rewards, result.final_obs,
                                                 result.terminated, result.truncated, result.valid)
                if transitions is not None:
                    self.learner.add(transitions)
                obs = result.obs
                valid = result.valid
                n_new = int(valid.sum())
                state.step += n_new
                running_return[valid] += result.rewards[valid]
                running_length[valid] += 1
                for index in np.flatnonzero(valid & (result.terminated | result.truncated)):
                    last_return = float(running_return[index])
                    finished_returns.append(last_return)
                    finished_lengths.append(int(running_length[index]))
                    running_return[index], running_length[index] = 0.0, 0
                    state.episodes += 1
                # A dropped episode (a live session relaunched mid-episode) is not an episode: forget it.
                for index in np.flatnonzero(~valid & result.truncated):
                    running_return[index], running_length[index] = 0.0, 0
                if self.hooks.step_metrics is not None:
                    for key, value in self.hooks.step_metrics(result.infos, valid).items():
                        writer.add_scalar(f"env/{key}", value, self.step)
                        if key == self.hooks.lap_time_key:
                            state.record_lap(value)
                self.learner.on_env_steps(n_new, self.step)
                progress.update(n_new)

                if self.step >= next_log:
                    now = time.perf_counter()
                    steps_per_second = (self.step - log_step) / max(now - log_time, 1e-9)
                    if not evaluated:
                        learning = self.learner.replay_size() >= self.eta.learning_starts
                        self.eta.observe(steps_per_second, learning)
                    evaluated = False
                    accumulators = self.learner.pop_metrics()
                    self._log(writer, accumulators, finished_returns, finished_lengths, epsilon,
                              steps_per_second)
                    progress.set_postfix(self._postfix(steps_per_second, last_return, accumulators, epsilon),
                                         refresh=False)
                    finished_returns, finished_lengths = [], []
                    log_time, log_step = now, self.step
                    next_log = self.step + tcfg.log_interval
                if state.evaluation_due():
                    with self.learner.paused():
                        stopped_early = self._run_evaluation(writer)
                    evaluated = True
                if state.save_due():
                    with self.learner.paused():
                        self._save_periodic()
                if stopped_early:
                    break
        progress.close()
        stop_reason = outcome.stop_reason
        failure = outcome.failure  # saved below, then raised again by finish_run
        close_error = _attempt(self.learner.close)
        if failure is None:
            failure = close_error
        elif close_error is not None:
            _log(f"while stopping: {type(close_error).__name__}: {close_error}")
        try:
            account = finish_run(lambda: self.save("last.pt", with_replay=tcfg.save_replay), self.step,
                                 self.checkpoint_dir / "last.pt", failure)
        finally:
            # The checkpoint is written (or its failure is being reported): errors here are only reported.
            for cleanup in (writer.close, self.env.close, getattr(self.evaluate, "close", lambda: None)):
                error = _attempt(cleanup)
                if error is not None:
                    _log(f"while stopping: {type(error).__name__}: {error}")
        wall = time.perf_counter() - start_time
        return TrainResult(self.step, self.episodes, self.agent.gradient_steps, self.best_score,
                           dict(state.last_eval), wall, stopped_early, stop_reason is not None, stop_reason, account)

    def _log(self, writer: Any, accumulators: Mapping[str, float], returns: list[float], lengths: list[int],
             epsilon: float, steps_per_second: float) -> None:
        updates = accumulators.get("updates", 0.0)
        if updates:
            for key in ("loss", "q_mean", "quantile_spread", "grad_norm"):
                writer.add_scalar(f"train/{key}", accumulators[key] / updates, self.step)
        if returns:
            writer.add_scalar("rollout/episode_return", float(np.mean(returns)), self.step)
            writer.add_scalar("rollout/episode_length", float(np.mean(lengths)), self.step)
        writer.add_scalar("train/epsilon", epsilon, self.step)
        writer.add_scalar("train/learning_rate", self.learning_rate(self.step), self.step)
        writer.add_scalar("train/replay_size", self.learner.replay_size(), self.step)
        for key in ("backlog", "skipped_updates"):
            if key in accumulators:
                writer.add_scalar(f"learner/{key}", accumulators[key], self.step)
        if math.isfinite(self.state.best_lap_s):
            writer.add_scalar("rollout/best_lap_time_s", self.state.best_lap_s, self.step)
        writer.add_scalar("perf/steps_per_second", steps_per_second, self.step)
        writer.add_scalar("perf/gradient_steps", self.agent.gradient_steps, self.step)

    def _postfix(self, steps_per_second: float, last_return: float, accumulators: Mapping[str, float],
                 epsilon: float) -> dict[str, str]:
        updates = accumulators.get("updates", 0.0)
        left = self.eta.seconds_left(self.step)
        postfix = {"eta": format_duration(left) if math.isfinite(left) else "measuring",
                   "sps": f"{steps_per_second:.0f}", "ep": str(self.episodes), "ret": f"{last_return:.1f}",
                   "eps": f"{epsilon:.3f}"}
        if updates:
            postfix["loss"] = f"{accumulators['loss'] / updates:.4f}"
        if math.isfinite(self.state.last_lap_s):
            postfix["lap"] = format_lap_time(self.state.last_lap_s)
            postfix["best_lap"] = format_lap_time(self.state.best_lap_s)
        if self.best_score is not None:
            postfix["best"] = f"{self.best_score:.2f}"
        return postfix


def _log(message: str) -> None:
    print(f"ac-core: {message}", file=sys.stderr, flush=True)


def _attempt(cleanup: Callable[[], object]) -> Exception | None:
    """Run one step of shutting down; its error is returned rather than raised."""
    try:
        cleanup()
    except Exception as exc:
        return exc
    return None


def format_lap_time(seconds: float) -> str:
    """90.123 -> '1:30.123' (NaN -> '-')."""
    if not math.isfinite(seconds):
        return "-"
    ms = round(seconds * 1000)
    return f"{ms // 60000}:{(ms // 1000) % 60:02d}.{ms % 1000:03d}"
