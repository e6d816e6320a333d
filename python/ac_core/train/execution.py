"""Execution settings for the machine at hand, and a measured ETA.

A config says *what* to learn (the agent's hyperparameters, the env, the step budget); how it runs
here — which device, how many PyTorch threads, how many cars share one batched simulator and one
inference pass, the matmul precision and pinned host memory on a GPU — depends on the machine.
:func:`plan_execution` fills in those execution settings, and only those the config did not set
(``given``: the keys the YAML file and ``--set`` name), so every value a config sets is trained as
written. The replay ratio (``agent.train_freq`` / ``agent.gradient_steps``: updates per env step) is a
learning setting and is never changed: the env steps counted by ``train_freq`` are summed over the
cars, so batching cars keeps it.

:func:`measure_throughput` then times a short warm-up of the real thing on a throw-away copy (the
config's env and network, acting and gradient steps; the run's RNG streams are untouched), and
:class:`EtaModel` turns it into the run's ETA: env steps before ``learning_starts`` at the acting rate,
the rest at the acting rate plus ``gradient_steps / train_freq`` updates per env step, plus the
evaluations. The progress bar shows the same model's ETA, re-measured from the run's own pace once
learning runs, rather than tqdm's extrapolation of the fast steps before learning starts.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

# The batched simulator's cars when the config leaves env.n_envs unset: one simulator step and one
# inference pass serve all of them. 16 is what the measured CPU config uses (configs/iqn_spa_cpu.yaml).
SIM_CARS = 16
# A run whose ETA exceeds this on a CPU is told so at start, with the command that laps here sooner.
ETA_ADVICE_HOURS = 2.0
# The config measured to lap on a 2-core CPU (README, "Learning on Spa"), and what it measured.
CPU_CONFIG = "configs/iqn_spa_cpu.yaml"
CPU_CONFIG_MEASURED = ("first complete lap after 400 k steps (8 min), a clean lap within 105 % of the "
                       "reference driver's after 1.2 M steps (24 min) on a 2-core CPU")


def usable_cpus() -> int:
    """CPU cores this process may run on (its affinity where the OS tells it, else all)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return max(os.cpu_count() or 1, 1)


@dataclass(frozen=True)
class Machine:
    cpus: int
    cuda: bool
    gpu_name: str = ""
    tf32: bool = False  # the GPU has TF32 tensor cores (compute capability ≥ 8.0)

    @classmethod
    def here(cls) -> Machine:
        cuda = torch.cuda.is_available()
        name, tf32 = "", False
        if cuda:
            name = torch.cuda.get_device_name(0)
            tf32 = torch.cuda.get_device_capability(0) >= (8, 0)
        return cls(usable_cpus(), cuda, name, tf32)

    def describe(self) -> str:
        gpu = f", GPU {self.gpu_name}" if self.cuda else ", no GPU"
        return f"{self.cpus} CPU core{'s' if self.cpus != 1 else ''}{gpu}"


@dataclass
class Choice:
    key: str
    value: Any
    reason: str
    chosen: bool  # False: the config set it and it is kept as written


@dataclass
class ExecutionPlan:
    config: Any
    machine: Machine
    choices: list[Choice] = field(default_factory=list)
    # torch thread counts the warm-up times before choosing one (empty: nothing to time)
    thread_candidates: tuple[int, ...] = ()

    def rechoose(self, key: str, value: Any, reason: str) -> None:
        """Replace a chosen setting's value and reason (after a measurement), in the plan and its config."""
        from ac_core.config import override

        for i, c in enumerate(self.choices):
            if c.key == key:
                self.choices[i] = Choice(key, value, reason, chosen=True)
        self.config = override(self.config, [f"{key}={value}"])

    @property
    def on_gpu(self) -> bool:
        return str(self.config.train.device).startswith("cuda")

    def lines(self) -> list[str]:
        out = [f"execution settings for this machine ({self.machine.describe()}):"]
        for c in self.choices:
            how = "chosen" if c.chosen else "as the config sets it"
            out.append(f"  {c.key} = {c.value}  ({how}: {c.reason})")
        return out


def _set(data: dict[str, Any], key: str, value: Any) -> None:
    section, name = key.split(".")
    data[section][name] = value


def plan_execution(cfg: Any, given: Iterable[str], machine: Machine | None = None) -> ExecutionPlan:
    """Fill in the execution settings ``cfg`` leaves unset (``given``: the dotted keys that were set)."""
    from ac_core.config import config_from_dict

    machine = machine or Machine.here()
    given = set(given)
    data = cfg.to_dict()
    plan = ExecutionPlan(cfg, machine)

    def decide(key: str, value: Any, reason: str) -> None:
        if key in given:
            section, name = key.split(".")
            plan.choices.append(Choice(key, data[section][name], reason, chosen=False))
        else:
            _set(data, key, value)
            plan.choices.append(Choice(key, value, reason, chosen=True))

    device = str(cfg.train.device)
    if device == "auto":
        device = "cuda" if machine.cuda else "cpu"
    decide("train.device", device, "the GPU" if machine.cuda else "no GPU found")
    gpu = str(data["train"]["device"]).startswith("cuda")
    # Small MLPs gain little beyond 8 threads. A simulator or game in its own process, or a learner thread
    # beside acting, needs a core of its own. The built-in batched simulator and inline updates take
    # turns in one process, so an update could use every core, but whether that pays depends on the load
    # (2-core VM, the CPU config's network: 9.2 ms per gradient step with 2 threads against 14.8 ms
    # with 1 when quiet; 31 ms against 13.5 ms with one core busy): the warm-up times both (startup).
    from ac_core.env.backends.registry import BACKENDS

    takes_turns = BACKENDS[cfg.env.backend].batched and cfg.train.learner in ("auto", "inline")
    if gpu:
        decide("train.torch_threads", 1, "the GPU does the maths; one thread feeds it")
    elif takes_turns and machine.cpus > 1 and "train.torch_threads" not in given:
        decide("train.torch_threads", 1, "1 unless the warm-up times more threads faster")
        plan.thread_candidates = (1, min(machine.cpus, 8))
    else:
        decide("train.torch_threads", max(1, min(machine.cpus - 1, 8)),
               "one core left for the simulator or game, at most 8 (small layers scale no further)")
    if cfg.env.backend == "sim":
        decide("env.n_envs", SIM_CARS, "cars in one batched simulator, acted for in one inference pass; "
                                       "the replay ratio counts their steps together, so it is unchanged")
    else:
        decide("env.n_envs", 1, f"backend {cfg.env.backend} drives one car")
    decide("train.precision", "tf32" if gpu and machine.tf32 else "fp32",
           "TF32 matmuls on the GPU's tensor cores, fp32 accumulation" if gpu and machine.tf32
           else "full fp32 on this device")
    decide("train.pin_memory", gpu, "page-locked host memory for the replay batches' copy to the GPU" if gpu
           else "no GPU copy")
    plan.config = config_from_dict(data, "execution plan")
    return plan


# ----- throughput and ETA -------------------------------------------------------------------------
@dataclass
class Throughput:
    env_steps_per_second: float  # env steps (summed over cars) with epsilon-greedy acting, no learning
    seconds_per_update: float  # one gradient step at the config's batch, N, K and width
    measured_seconds: float  # how long the warm-up took

    def describe(self) -> str:
        return (f"{self.env_steps_per_second:,.0f} env steps/s acting, {self.seconds_per_update * 1000:.1f} ms "
                f"per gradient step (warm-up of {self.measured_seconds:.0f} s)")


def measure_throughput(cfg: Any, env_factory: Callable[[], Any], act_seconds: float = 3.0,
                       learn_seconds: float = 3.0, min_updates: int = 2) -> Throughput:
    """Time acting and learning on a throw-away agent, env and replay; the training run's RNG streams
    (torch's global one included) are left as they were."""
    from ac_core.agents.agent import IQNAgent, resolve_device
    from ac_core.agents.replay import NStepAssembler, ReplayBuffer
    from ac_core.train.batched_env import BatchedEnv

    acfg, tcfg = cfg.agent, cfg.train
    device = resolve_device(tcfg.device)
    started = time.perf_counter()
    with torch.random.fork_rng(devices=[]), _torch_threads(tcfg.torch_threads):
        env = BatchedEnv(env_factory())
        try:
            agent = IQNAgent(env.obs_dim, env.n_actions, acfg, device, precision=tcfg.precision,
                             pin_memory=tcfg.pin_memory)
            replay = ReplayBuffer(max(4 * acfg.batch_size, 4096), env.obs_dim)
            assembler = NStepAssembler(env.n_envs, acfg.n_step, acfg.gamma)
            rng = np.random.default_rng([int(tcfg.seed), 7])
            obs = env.reset(seed=int(tcfg.seed))
            steps, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < act_seconds or len(replay) < acfg.batch_size:
                actions = agent.act(obs, 0.5, rng)
                result = env.step(actions)
                transitions = assembler.add(obs, actions, result.rewards, result.final_obs, result.terminated,
                                            result.truncated, result.valid)
                if transitions is not None:
                    replay.add_batch(*transitions)
                obs = result.obs
                steps += int(result.valid.sum())
            env_sps = steps / max(time.perf_counter() - t0, 1e-9)
            agent.learn(replay.sample(acfg.batch_size, rng))  # the first step pays one-off costs
            updates, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < learn_seconds or updates < min_updates:
                agent.learn(replay.sample(acfg.batch_size, rng))
                updates += 1
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            per_update = (time.perf_counter() - t0) / updates
        finally:
            env.close()
    return Throughput(env_sps, per_update, time.perf_counter() - started)


class _torch_threads:
    """Run a block with the run's torch thread count (0 keeps the current one)."""

    def __init__(self, threads: int) -> None:
        self.threads, self.before = int(threads), torch.get_num_threads()

    def __enter__(self) -> None:
        if self.threads:
            torch.set_num_threads(self.threads)

    def __exit__(self, *exc: object) -> None:
        torch.set_num_threads(self.before)


@dataclass
class EtaModel:
    """Seconds a run needs from a given env step: env steps before ``learning_starts`` at the acting pace,
    the rest at the pace with learning, and the evaluations still due. A pace not known yet is NaN (the
    ETA is then unknown rather than guessed); the run's own measurements replace the warm-up's."""

    total_steps: int
    learning_starts: int
    eval_interval: int
    seconds_per_step_acting: float = math.nan
    seconds_per_learning_step: float = math.nan
    seconds_per_evaluation: float = 0.0

    @classmethod
    def for_config(cls, cfg: Any) -> EtaModel:
        acfg, tcfg = cfg.agent, cfg.train
        return cls(int(tcfg.total_timesteps), max(int(acfg.learning_starts), int(acfg.batch_size)),
                   int(tcfg.eval_interval))

    @classmethod
    def from_throughput(cls, cfg: Any, throughput: Throughput, eval_steps: int = 0) -> EtaModel:
        """The warm-up's paces: acting, plus ``gradient_steps / train_freq`` updates per env step (the
        replay ratio) once learning starts; an evaluation as ``eval_steps`` acting steps."""
        model = cls.for_config(cfg)
        acting = 1.0 / max(throughput.env_steps_per_second, 1e-9)
        ratio = cfg.agent.gradient_steps / cfg.agent.train_freq
        model.seconds_per_step_acting = acting
        model.seconds_per_learning_step = acting + ratio * throughput.seconds_per_update
        model.seconds_per_evaluation = eval_steps * acting
        return model

    def observe(self, steps_per_second: float, learning: bool) -> None:
        """The run's own pace over an interval without an evaluation in it."""
        if steps_per_second > 0 and math.isfinite(steps_per_second):
            if learning:
                self.seconds_per_learning_step = 1.0 / steps_per_second
            else:
                self.seconds_per_step_acting = 1.0 / steps_per_second

    def observe_evaluation(self, seconds: float) -> None:
        self.seconds_per_evaluation = max(float(seconds), 0.0)

    def seconds_left(self, step: int) -> float:
        step = min(max(int(step), 0), self.total_steps)
        before = max(min(self.learning_starts, self.total_steps) - step, 0)
        after = self.total_steps - step - before
        evaluations = self.total_steps // self.eval_interval - step // self.eval_interval
        total = evaluations * self.seconds_per_evaluation
        if before:
            total += before * self.seconds_per_step_acting
        if after:
            total += after * self.seconds_per_learning_step
        return total


def _rate(per_second: float) -> str:
    return f"{per_second:,.0f}" if per_second >= 10 else f"{per_second:.2g}"


def format_duration(seconds: float) -> str:
    """3725 -> '1 h 02 min'; 95 -> '1 min 35 s'; '∞' for a non-finite value."""
    if not math.isfinite(seconds):
        return "∞"
    seconds = max(round(seconds), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 48:
        return f"{hours / 24:.1f} days"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def eta_advice(plan: ExecutionPlan, eta_seconds: float, config_path: str, out: str | None,
               limit_hours: float = ETA_ADVICE_HOURS) -> str | None:
    """A note for a run on a CPU that would take longer than ``limit_hours``: the ETA, and the command that
    gives a lapping agent on this machine sooner (None when the run fits, or runs on a GPU)."""
    if plan.on_gpu or eta_seconds <= limit_hours * 3600 or os.path.basename(config_path) == os.path.basename(
            CPU_CONFIG):
        return None
    command = f"ac-core train --config {CPU_CONFIG} --out {out or 'checkpoints/'}"
    return (f"this config needs about {format_duration(eta_seconds)} here (over {limit_hours:g} h on "
            f"{plan.machine.describe()}): its hyperparameters (batch {plan.config.agent.batch_size}, "
            f"{plan.config.agent.n_quantiles} quantiles, {plan.config.agent.hidden_units} units, "
            f"{plan.config.agent.gradient_steps / plan.config.agent.train_freq:g} gradient step(s) per env step, "
            f"{plan.config.train.total_timesteps:,} steps) are sized for a GPU. Training goes on as configured; "
            f"for a lapping agent on this CPU run instead: {command} ({CPU_CONFIG_MEASURED})")


# An evaluation lap's env steps per episode, for the ETA: a complete lap a little slower than the
# reference driver's ~102 s at Spa (early evaluations end sooner, at a crash: this is the upper end).
EVAL_LAP_SECONDS = 110.0


def _echo_plan(plan: ExecutionPlan, echo: Callable[[str], None]) -> None:
    for line in plan.lines():
        echo(line)


def _timed_warmup(plan: ExecutionPlan, factory: Callable[[], Any], seconds: float) -> Throughput:
    """The warm-up's throughput; with thread candidates, a gradient step timed at each count and the
    fastest chosen (the plan and its config are updated)."""
    from ac_core.config import override

    if not plan.thread_candidates:
        return measure_throughput(plan.config, factory, seconds / 2, seconds / 2)
    timed: dict[int, Throughput] = {}
    for threads in plan.thread_candidates:
        trial = override(plan.config, [f"train.torch_threads={threads}"])
        acting = seconds / 2 if not timed else 0.0  # acting is timed once, with the first count
        timed[threads] = measure_throughput(trial, factory, acting, seconds / 2)
    best = min(timed, key=lambda n: timed[n].seconds_per_update)
    first = timed[plan.thread_candidates[0]]
    timings = ", ".join(f"{timed[n].seconds_per_update * 1000:.1f} ms with {n}" for n in plan.thread_candidates)
    plan.rechoose("train.torch_threads", best, f"timed at warm-up, per gradient step: {timings}")
    return Throughput(first.env_steps_per_second, timed[best].seconds_per_update,
                      sum(t.measured_seconds for t in timed.values()))


def startup(cfg: Any, given: Iterable[str], config_path: str, out: str | None,
            echo: Callable[[str], None] = print, machine: Machine | None = None,
            start_step: int = 0) -> tuple[Any, EtaModel | None]:
    """What ``ac-core train`` does before training: choose the execution settings, print them, time the
    warm-up and print the ETA from ``start_step`` (a resumed run's step; with the advice for a CPU,
    :func:`eta_advice`). Returns the config to train and the ETA model for the progress bar (None without
    a warm-up)."""
    from ac_core.train.racing import make_env_factory

    plan = plan_execution(cfg, given, machine)
    tcfg = plan.config.train
    if tcfg.warmup_seconds <= 0:
        _echo_plan(plan, echo)
        echo("ETA: measured by the progress bar as the run goes (train.warmup_seconds is 0)")
        return plan.config, None
    factory, settings = make_env_factory(plan.config)
    if settings.backend != "sim":  # a live game cannot be stepped for a warm-up without driving the car
        _echo_plan(plan, echo)
        echo(f"ETA: measured by the progress bar as the run goes (backend {settings.backend} runs in real time)")
        return plan.config, None
    throughput = _timed_warmup(plan, factory, tcfg.warmup_seconds)
    _echo_plan(plan, echo)
    cfg = plan.config
    eval_steps = int(tcfg.eval_episodes * EVAL_LAP_SECONDS * settings.control_hz)
    eta = EtaModel.from_throughput(cfg, throughput, eval_steps)
    total = eta.seconds_left(start_step)
    ratio = cfg.agent.gradient_steps / cfg.agent.train_freq
    left = max(tcfg.total_timesteps - start_step, 0)
    steps = f"{left:,} env steps" + (f" (resumed at {start_step:,} of {tcfg.total_timesteps:,})" if start_step else "")
    echo(f"ETA: {format_duration(total)} for {steps} — {throughput.describe()}; "
         f"with learning at {ratio:g} gradient step{'s' if ratio != 1 else ''} per env step: "
         f"{_rate(1 / eta.seconds_per_learning_step)} env steps/s; evaluations ≤ "
         f"{format_duration(max(eta.seconds_per_evaluation, 1.0))} each")  # never "≤ 0 s"
    if tcfg.eta_advice_hours > 0:
        advice = eta_advice(plan, total, config_path, out, tcfg.eta_advice_hours)
        if advice:
            echo(f"note: {advice}")
    return cfg, eta
