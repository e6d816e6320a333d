"""`ac-core train` picks execution settings for the machine without changing what a config sets, and prints
a measured ETA (with the faster CPU config named when the ETA is long on a CPU)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from ac_core.cli import main
from ac_core.config import keys_set_by, keys_set_in, load_config, override
from ac_core.train.execution import (
    CPU_CONFIG,
    EtaModel,
    Machine,
    Throughput,
    eta_advice,
    format_duration,
    measure_throughput,
    plan_execution,
)
from ac_core.train.racing import make_env_factory

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "configs" / "iqn_spa_falpha2022.yaml"
TWO_CORES = Machine(cpus=2, cuda=False)
A_GPU = Machine(cpus=16, cuda=True, gpu_name="test GPU", tf32=True)

TINY = """
env: {lap_start: "random", control_hz: 10, max_episode_seconds: 6}
agent: {batch_size: 16, n_quantiles: 4, n_quantiles_policy: 4, hidden_units: 32, learning_starts: 100,
        replay_size: 2_000}
train: {total_timesteps: 200, eval_interval: 200, save_interval: 200, eval_episodes: 1, log_interval: 100,
        warmup_seconds: 1.0, progress: false}
"""


def _value(cfg: object, key: str) -> object:
    section, name = key.split(".")
    return getattr(getattr(cfg, section), name)


@pytest.mark.parametrize("machine", [TWO_CORES, A_GPU], ids=["2-core CPU", "GPU"])
def test_the_seed_config_is_trained_as_written(machine: Machine) -> None:
    cfg = load_config(SEED)
    given = keys_set_in(SEED)
    assert {"agent.hidden_units", "agent.n_quantiles", "train.total_timesteps", "env.lap_start"} <= given
    plan = plan_execution(cfg, given, machine)
    for key in given:
        assert _value(plan.config, key) == _value(cfg, key), key
    # the replay ratio is a learning setting, not an execution one
    assert (plan.config.agent.train_freq, plan.config.agent.gradient_steps) == (cfg.agent.train_freq,
                                                                               cfg.agent.gradient_steps)
    chosen = {c.key: c.value for c in plan.choices if c.chosen}
    assert chosen["env.n_envs"] == 16 and plan.config.env.n_envs == 16
    if machine.cuda:
        assert chosen == {"train.device": "cuda", "train.torch_threads": 1, "env.n_envs": 16,
                          "train.precision": "tf32", "train.pin_memory": True}
    else:
        assert chosen == {"train.device": "cpu", "train.torch_threads": 1, "env.n_envs": 16,
                          "train.precision": "fp32", "train.pin_memory": False}
    assert "execution settings" in plan.lines()[0] and len(plan.lines()) == 1 + len(plan.choices)


def test_settings_a_config_or_set_names_are_kept() -> None:
    cpu = REPO / CPU_CONFIG
    cfg = load_config(cpu)
    given = keys_set_in(cpu) | keys_set_by(["train.device=cpu", "env.reward.progress=0.2"])
    assert {"train.device", "env.reward", "env.n_envs"} <= given and "train.torch_threads" not in given
    plan = plan_execution(cfg, given, Machine(cpus=8, cuda=False))
    kept = {c.key for c in plan.choices if not c.chosen}
    assert {"train.device", "env.n_envs"} <= kept
    assert plan.config.env.n_envs == 16 and plan.thread_candidates == (1, 8)
    # a setting the file leaves unset is chosen: the batched simulator and inline updates take turns, so
    # the warm-up times 1 and every core (8); a simulator in its own process keeps a core (7 threads)
    seed = plan_execution(load_config(SEED), keys_set_in(SEED), Machine(8, False))
    assert seed.config.train.torch_threads == 1 and seed.thread_candidates == (1, 8)
    live = override(load_config(SEED), ["env.backend=sim-live", "env.n_envs=1", "env.lap_start=pit_out"])
    plan = plan_execution(live, keys_set_in(SEED), Machine(8, False))
    assert plan.config.train.torch_threads == 7 and plan.thread_candidates == ()
    # a thread count the config sets is kept, and nothing is timed
    pinned = plan_execution(override(load_config(SEED), ["train.torch_threads=3"]),
                            keys_set_in(SEED) | {"train.torch_threads"}, Machine(8, False))
    assert pinned.config.train.torch_threads == 3 and pinned.thread_candidates == ()


def test_eta_model_counts_acting_learning_and_evaluations() -> None:
    cfg = load_config(SEED)  # 5 M steps, learning from 20 k, one gradient step per env step, eval every 50 k
    eta = EtaModel.from_throughput(cfg, Throughput(1000.0, 0.01, 1.0), eval_steps=500)
    assert eta.seconds_per_learning_step == pytest.approx(0.001 + 0.01)
    expected = 20_000 * 0.001 + 4_980_000 * 0.011 + 100 * 0.5
    assert eta.seconds_left(0) == pytest.approx(expected)
    assert eta.seconds_left(cfg.train.total_timesteps) == 0.0
    eta.observe(50.0, learning=True)  # the run's own pace replaces the warm-up's
    assert eta.seconds_left(4_950_000) == pytest.approx(50_000 / 50.0 + 1 * 0.5)
    unknown = EtaModel.for_config(cfg)
    assert math.isnan(unknown.seconds_left(0))
    unknown.observe(2000.0, learning=False)
    assert math.isnan(unknown.seconds_left(0)) and unknown.seconds_left(19_000) != unknown.seconds_left(19_000)
    assert format_duration(3725) == "1 h 02 min" and format_duration(95) == "1 min 35 s"
    assert format_duration(float("nan")) == "∞" and format_duration(3600 * 100) == "4.2 days"


def test_advice_names_the_cpu_config_only_for_a_long_cpu_run() -> None:
    cfg = load_config(SEED)
    cpu_plan = plan_execution(cfg, keys_set_in(SEED), TWO_CORES)
    advice = eta_advice(cpu_plan, 50 * 3600, str(SEED), "checkpoints/")
    assert advice is not None and "about 2.1 days" in advice
    assert f"ac-core train --config {CPU_CONFIG} --out checkpoints/" in advice
    assert eta_advice(cpu_plan, 3600, str(SEED), None) is None  # fits in 2 h
    assert eta_advice(plan_execution(cfg, keys_set_in(SEED), A_GPU), 40 * 3600, str(SEED), None) is None
    assert eta_advice(cpu_plan, 40 * 3600, CPU_CONFIG, None) is None  # already the CPU config


def test_warm_up_leaves_the_runs_random_streams_alone(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    cfg = plan_execution(load_config(path), keys_set_in(path), TWO_CORES).config
    before, threads = torch.get_rng_state(), torch.get_num_threads()
    throughput = measure_throughput(cfg, make_env_factory(cfg)[0], 0.2, 0.2)
    assert torch.equal(torch.get_rng_state(), before) and torch.get_num_threads() == threads
    assert throughput.env_steps_per_second > 0 and throughput.seconds_per_update > 0


def test_train_prints_its_settings_eta_and_advice(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    out = tmp_path / "ck"
    # an advice threshold of ~0 s makes this tiny run "too long" for a CPU
    assert main(["train", "--config", str(path), "--out", str(out), "--log-dir", str(tmp_path / "logs"),
                 "--device", "cpu", "--set", "train.eta_advice_hours=1e-9"]) == 0
    printed = capsys.readouterr().out
    assert "ac-core train: execution settings for this machine" in printed
    # the warm-up timed a gradient step with 1 thread and with every core, and kept the faster
    import os
    import re

    cores = min(os.cpu_count() or 1, 8)
    if cores > 1:
        line = next(x for x in printed.splitlines() if "train.torch_threads = " in x)
        chosen = int(re.search(r"torch_threads = (\d+)", line).group(1))
        timed = {int(n): float(ms) for ms, n in re.findall(r"([\d.]+) ms with (\d+)", line)}
        assert set(timed) == {1, cores} and timed[chosen] == min(timed.values()), line
        assert load_config(out / "config.yaml").train.torch_threads == chosen
    assert "env.n_envs = 16  (chosen" in printed and "train.device = cpu  (as the config sets it" in printed
    assert "ac-core train: ETA: " in printed and "env steps/s" in printed
    assert f"for a lapping agent on this CPU run instead: ac-core train --config {CPU_CONFIG} --out {out}" in printed
    assert load_config(out / "config.yaml").env.n_envs == 16  # the run's stored config has what it ran with


def test_a_resumed_run_s_eta_covers_the_steps_left(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    common = ["--config", str(path), "--out", str(tmp_path / "ck"), "--log-dir", str(tmp_path / "logs"),
              "--device", "cpu", "--set", "train.torch_threads=1"]
    assert main(["train", *common]) == 0
    capsys.readouterr()
    assert main(["train", *common, "--resume", "--total-timesteps", "300"]) == 0
    eta = next(x for x in capsys.readouterr().out.splitlines() if "ac-core train: ETA: " in x)
    import re

    # 16 cars step together, so the first run stops at the first multiple of 16 at or past 200
    done = int(re.search(r"resumed at (\d+) of 300\)", eta).group(1))
    assert 200 <= done < 216 and f"for {300 - done} env steps" in eta, eta
