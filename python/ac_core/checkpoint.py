"""Training checkpoints: atomic .pt files with weights, optimiser, step, config, RNG states, metadata.

Writes go to a temporary file in the same directory, are flushed and fsynced, then renamed over the
destination with ``os.replace`` (atomic on POSIX and Windows), and the directory is fsynced on POSIX.
A crash or Ctrl-C therefore leaves either the old or the new file, never a truncated one.

Files are read with ``torch.load(weights_only=True)``: only tensors and plain Python values, so
loading a checkpoint never runs pickled code. RNG states are stored as plain lists/ints for that.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ac_core.config import Config
from ac_core.errors import InputError, NonFiniteError, one_line

CHECKPOINT_FORMAT = "ac_core.checkpoint"
CHECKPOINT_FORMAT_VERSION = 1


class CheckpointError(InputError, RuntimeError):
    """A checkpoint that cannot be used; the message says why and what to do."""


def atomic_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to ``path`` atomically (temp file + fsync + os.replace + directory fsync)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    if os.name == "posix":
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def capture_rng_state(generators: Mapping[str, np.random.Generator] | None = None) -> dict[str, Any]:
    """Python, NumPy (global), torch (CPU and CUDA) and named NumPy Generator states, as plain values."""
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)  # type: ignore[misc]
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
        "torch_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "generators": {name: gen.bit_generator.state for name, gen in (generators or {}).items()},
    }
    return state


def restore_rng_state(state: Mapping[str, Any],
                      generators: Mapping[str, np.random.Generator] | None = None) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if state.get("torch_cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["torch_cuda"])
    for name, gen in (generators or {}).items():
        if name in state.get("generators", {}):
            gen.bit_generator.state = state["generators"][name]


@dataclass
class Checkpoint:
    path: Path
    step: int
    config: dict[str, Any]
    architecture: dict[str, Any]
    agent_state: dict[str, Any]
    rng_state: dict[str, Any] | None
    metadata: dict[str, Any] = field(default_factory=dict)


def save_checkpoint(path: str | Path, agent: Any, step: int, config: Config | Mapping[str, Any],
                    rng_state: Mapping[str, Any] | None = None,
                    metadata: Mapping[str, Any] | None = None) -> None:
    """Save ``agent`` (an IQNAgent: networks, optimiser, gradient steps) with the training state.

    A model with a NaN or infinite weight is never written: the file already at ``path`` (the last good
    one) stays, and NonFiniteError says so."""
    broken = agent.non_finite_tensors() if hasattr(agent, "non_finite_tensors") else []
    if broken:
        raise NonFiniteError(
            f"not writing {path}: {len(broken)} network tensor(s) hold NaN or infinite values ({broken[0]} …); "
            "the checkpoint already there is the last good one")
    payload = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "step": int(step),
        "config": config.to_dict() if isinstance(config, Config) else dict(config),
        "architecture": agent.architecture(),
        "agent": agent.state_dict(),
        "rng": dict(rng_state) if rng_state is not None else None,
        "metadata": dict(metadata or {}),
    }
    atomic_save(payload, path)


def _other_files(path: Path) -> str:
    """Advice naming the run's other checkpoints (never the file that just failed)."""
    others = [name for name in ("last.pt", "best.pt") if name != path.name and (path.parent / name).is_file()]
    steps = sorted(path.parent.glob("step_*.pt"), key=lambda p: p.stat().st_mtime)
    others += [p.name for p in steps[-1:] if p.name != path.name]
    if not others:
        return "no other checkpoint is beside it: evaluate another file, or start the training over with --force"
    hint = f"use {' or '.join(others)} from {path.parent}"
    return hint + (" (copy it to last.pt to resume from it)" if path.name == "last.pt" else "")


_REQUIRED_KEYS = {"step": int, "config": dict, "architecture": dict, "agent": dict}
_REQUIRED_AGENT_KEYS = ("online", "target", "optimizer", "gradient_steps")


def _read(path: Path, map_location: str | torch.device) -> dict[str, Any]:
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} not found; check the path (training writes "
                              "<checkpoint_dir>/last.pt, best.pt and step_<N>.pt)")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        reason = one_line(exc).split(". ")[0][:160]  # torch's own text runs on for several sentences
        raise CheckpointError(f"{path} cannot be read as a checkpoint ({type(exc).__name__}: {reason}); the file is "
                              f"truncated or damaged: {_other_files(path)}") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not an ac_core checkpoint (no {CHECKPOINT_FORMAT!r} marker; "
                              f"`ac-core train` writes them); {_other_files(path)}")
    version = payload.get("format_version")
    if version != CHECKPOINT_FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint format version {version}; this ac_core reads "
                              f"version {CHECKPOINT_FORMAT_VERSION}. Use the ac_core release that wrote it")
    missing = [key for key, kind in _REQUIRED_KEYS.items() if not isinstance(payload.get(key), kind)]
    agent = payload.get("agent")
    if isinstance(agent, dict):
        missing += [f"agent.{key}" for key in _REQUIRED_AGENT_KEYS if key not in agent]
    if missing:
        raise CheckpointError(f"{path} lacks {', '.join(missing)} (it was not written whole by `ac-core train`); "
                              f"{_other_files(path)}")
    return payload


def _architecture_mismatch(path: Path, payload: Mapping[str, Any], agent: Any) -> str | None:
    saved_arch, current_arch = payload["architecture"], agent.architecture()
    differences = [f"{key}: checkpoint {saved_arch.get(key)!r}, now {value!r}"
                   for key, value in current_arch.items() if saved_arch.get(key) != value]
    saved_weights = payload["agent"]["online"]
    current_weights = agent.online.state_dict()
    shapes = []
    for key in sorted(set(saved_weights) | set(current_weights)):
        old, new = saved_weights.get(key), current_weights.get(key)
        if old is None or new is None:
            shapes.append(f"{key}: {'missing in checkpoint' if old is None else 'not in this network'}")
        elif tuple(old.shape) != tuple(new.shape):
            shapes.append(f"{key}: checkpoint {list(old.shape)}, now {list(new.shape)}")
    if not differences and not shapes:
        return None
    lines = [f"{path} holds a network with a different architecture:"]
    lines += [f"  config {d}" for d in differences]
    lines += [f"  tensor {s}" for s in shapes[:12]]
    if len(shapes) > 12:
        lines.append(f"  … and {len(shapes) - 12} more tensors")
    lines.append("Use the same agent settings (the checkpoint's own config is stored inside it) or start "
                 "a new run.")
    return "\n".join(lines)


def load_checkpoint(path: str | Path, agent: Any | None = None, map_location: str | torch.device = "cpu",
                    generators: Mapping[str, np.random.Generator] | None = None,
                    restore_rng: bool = False) -> Checkpoint:
    """Read a checkpoint; with ``agent`` load its weights and optimiser after checking the architecture;
    with ``restore_rng`` also restore Python/NumPy/torch RNGs and the named ``generators``."""
    path = Path(path)
    payload = _read(path, map_location)
    if agent is not None:
        problem = _architecture_mismatch(path, payload, agent)
        if problem:
            raise CheckpointError(problem)
        agent.load_state_dict(payload["agent"])
    if restore_rng:
        if payload.get("rng") is None:
            raise CheckpointError(f"{path} has no RNG state (it was saved without one); cannot resume "
                                  "deterministically")
        restore_rng_state(payload["rng"], generators)
    return Checkpoint(path=path, step=int(payload["step"]), config=payload["config"],
                      architecture=payload["architecture"], agent_state=payload["agent"],
                      rng_state=payload.get("rng"), metadata=payload.get("metadata", {}))
