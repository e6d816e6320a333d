"""Checkpoints: round trip (weights, optimiser, RNG), atomic writes and clear errors."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from ac_core.agents import IQNAgent, ReplayBatch
from ac_core.checkpoint import (
    CHECKPOINT_FORMAT_VERSION,
    CheckpointError,
    atomic_save,
    capture_rng_state,
    load_checkpoint,
    save_checkpoint,
)
from ac_core.config import Config, override


@pytest.fixture(autouse=True, scope="module")
def _single_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _config(*assignments: str) -> Config:
    return override(Config(), ["agent.hidden_units=16", "agent.n_quantiles=4", "agent.batch_size=8",
                               *assignments])


def _trained_agent(cfg: Config, steps: int = 3) -> IQNAgent:
    torch.manual_seed(0)
    agent = IQNAgent(3, 2, cfg.agent)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        agent.learn(ReplayBatch(rng.normal(size=(8, 3)).astype(np.float32), rng.integers(0, 2, 8),
                                rng.normal(size=8).astype(np.float32), np.full(8, 0.9, np.float32),
                                np.zeros(8, np.float32), rng.normal(size=(8, 3)).astype(np.float32),
                                np.arange(8), np.ones(8, np.float32)))
    return agent


def test_round_trip_restores_weights_optimizer_step_config_and_metadata(tmp_path: Path) -> None:
    cfg = _config()
    agent = _trained_agent(cfg)
    path = tmp_path / "run" / "last.pt"
    save_checkpoint(path, agent, step=1234, config=cfg, metadata={"best_lap_time_s": 104.5})
    fresh = IQNAgent(3, 2, cfg.agent)
    loaded = load_checkpoint(path, fresh)
    assert loaded.step == 1234
    assert loaded.metadata == {"best_lap_time_s": 104.5}
    assert loaded.config == cfg.to_dict()
    assert loaded.architecture == agent.architecture()
    assert fresh.gradient_steps == agent.gradient_steps == 3
    for name in ("online", "target"):
        for key, value in getattr(agent, name).state_dict().items():
            assert torch.equal(value, getattr(fresh, name).state_dict()[key]), key
    saved_opt, loaded_opt = agent.optimizer.state_dict(), fresh.optimizer.state_dict()
    assert saved_opt["param_groups"] == loaded_opt["param_groups"]
    for index, state in saved_opt["state"].items():
        assert torch.equal(state["exp_avg"], loaded_opt["state"][index]["exp_avg"])
        assert torch.equal(state["exp_avg_sq"], loaded_opt["state"][index]["exp_avg_sq"])


def test_rng_states_round_trip_so_the_next_draws_match(tmp_path: Path) -> None:
    cfg = _config()
    agent = _trained_agent(cfg)
    generator = np.random.default_rng(42)
    generator.random(5)
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    save_checkpoint(tmp_path / "c.pt", agent, 1, cfg, capture_rng_state({"trainer": generator}))

    def draws() -> tuple[float, float, float, float]:
        return random.random(), float(np.random.rand()), float(torch.rand(1)), float(generator.random())

    expected = draws()
    draws()  # move every RNG on
    load_checkpoint(tmp_path / "c.pt", generators={"trainer": generator}, restore_rng=True)
    assert draws() == expected


def test_rng_restore_needs_a_saved_state(tmp_path: Path) -> None:
    cfg = _config()
    save_checkpoint(tmp_path / "c.pt", _trained_agent(cfg), 1, cfg)
    with pytest.raises(CheckpointError, match="no RNG state"):
        load_checkpoint(tmp_path / "c.pt", restore_rng=True)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match=r"nope\.pt not found"):
        load_checkpoint(tmp_path / "nope.pt")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_file_names_the_run_s_other_checkpoints(tmp_path: Path, damage: str) -> None:
    cfg = _config()
    path = tmp_path / "last.pt"
    save_checkpoint(path, _trained_agent(cfg), 100, cfg)
    save_checkpoint(tmp_path / "best.pt", _trained_agent(cfg), 50, cfg)
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"\x00not a checkpoint" * 50,
                      "empty": b""}[damage])
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "cannot be read as a checkpoint" in message and str(path) in message
    # The advice names the file that is still good, never the damaged one itself.
    assert "use best.pt" in message and "copy it to last.pt" in message and "use last.pt" not in message
    assert len(message.splitlines()) == 1


def test_a_checkpoint_without_its_agent_is_named_not_a_traceback(tmp_path: Path) -> None:
    cfg = _config()
    path = tmp_path / "c.pt"
    save_checkpoint(path, _trained_agent(cfg), 1, cfg)
    payload = torch.load(path, weights_only=True)
    del payload["agent"]
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=r"c\.pt lacks agent"):
        load_checkpoint(path)


def test_a_foreign_torch_file_is_rejected(tmp_path: Path) -> None:
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="is not an ac_core checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_a_different_format_version_is_named(tmp_path: Path) -> None:
    cfg = _config()
    path = tmp_path / "c.pt"
    save_checkpoint(path, _trained_agent(cfg), 1, cfg)
    payload = torch.load(path, weights_only=True)
    payload["format_version"] = CHECKPOINT_FORMAT_VERSION + 1
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match=f"format version {CHECKPOINT_FORMAT_VERSION + 1}"):
        load_checkpoint(path)


def test_architecture_mismatch_names_config_values_and_tensor_shapes(tmp_path: Path) -> None:
    cfg = _config()
    path = tmp_path / "c.pt"
    save_checkpoint(path, _trained_agent(cfg), 1, cfg)
    wider = _config("agent.hidden_units=32", "agent.dueling=false")
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, IQNAgent(3, 2, wider.agent))
    message = str(info.value)
    assert "hidden_units: checkpoint 16, now 32" in message
    assert "dueling: checkpoint True, now False" in message
    assert "torso.0.weight: checkpoint [16, 3], now [32, 3]" in message
    assert "value_head.0.weight: not in this network" in message
    with pytest.raises(CheckpointError, match="n_actions: checkpoint 2, now 4"):
        load_checkpoint(path, IQNAgent(3, 4, cfg.agent))


def test_atomic_save_keeps_the_old_file_when_writing_fails(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _config()
    agent = _trained_agent(cfg)
    path = tmp_path / "last.pt"
    save_checkpoint(path, agent, 10, cfg)
    real_save = torch.save

    def crash_midway(obj: object, handle: object) -> None:
        real_save(obj, handle)
        handle.truncate(100)  # type: ignore[attr-defined]
        raise KeyboardInterrupt  # Ctrl-C during the write

    monkeypatch.setattr(torch, "save", crash_midway)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, agent, 20, cfg)
    monkeypatch.undo()
    assert load_checkpoint(path).step == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]  # no temp file left behind


def test_atomic_save_replaces_and_creates_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "x.pt"
    atomic_save({"v": 1}, path)
    atomic_save({"v": 2}, path)
    assert torch.load(path, weights_only=True) == {"v": 2}
    assert [p.name for p in path.parent.iterdir()] == ["x.pt"]
