"""Typed training configuration: YAML file -> validated dataclasses with attribute access.

``load_config(path)`` reads a YAML file with the sections ``env``, ``agent`` and ``train`` (all
optional; missing keys take the defaults below) and returns a :class:`Config`. The seed's example
(``configs/iqn_spa_falpha2022.yaml``) loads exactly as written.

Why the coercion: PyYAML follows YAML 1.1, which reads ``3e-4`` (no dot) as the *string* "3e-4"
while ``5_000_000`` is an int. Numeric fields therefore accept numeric strings and integral floats
(``1e6`` for an int field), but never booleans, NaN/inf or text, and every bad value raises
:class:`ConfigError` naming the file, the dotted key and the valid range or choices.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ac_core.env.settings import EnvConfigError, EnvSettings, make_settings
from ac_core.errors import InputError


class ConfigError(InputError, ValueError):
    """A config file or override that cannot be used; the message names the key and the fix."""


def _spec(default: Any, *, low: float | None = None, high: float | None = None, low_open: bool = False,
          high_open: bool = False, choices: tuple[Any, ...] | None = None, doc: str = "") -> Any:
    """A dataclass field with its valid range (``low``/``high``, open or closed) or ``choices``."""
    meta = {"low": low, "high": high, "low_open": low_open, "high_open": high_open,
            "choices": choices, "doc": doc}
    return field(default=default, metadata=meta)


@dataclass
class EnvConfig(EnvSettings):
    """The ``env`` section: every environment setting (``ac_core.env.settings.EnvSettings``, one
    definition validated by the environment's own rules) plus ``n_envs``, the cars the trainer runs."""

    n_envs: int = _spec(1, low=1, high=4096, doc="parallel environments / cars in the batched simulator")

    def to_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the environment constructor (everything but n_envs)."""
        kwargs = {f.name: getattr(self, f.name) for f in dataclasses.fields(EnvSettings)}
        kwargs["reward"] = dataclasses.asdict(self.reward)
        return kwargs


@dataclass
class AgentConfig:
    """IQN hyperparameters (research/iqn_and_racing_rl.md §6)."""

    type: str = _spec("IQN", choices=("IQN",))
    gamma: float = _spec(0.99, low=0.0, low_open=True, high=1.0, doc="discount per step")
    lr: float = _spec(3e-4, low=0.0, low_open=True, high=1.0, doc="learning rate (at step 0)")
    lr_end: float = _spec(5e-5, low=0.0, low_open=True, high=1.0, doc="learning rate after lr_decay_steps")
    lr_decay_steps: int = _spec(0, low=0, doc="env steps of exponential lr decay to lr_end; 0 keeps lr constant")
    batch_size: int = _spec(64, low=1)
    n_quantiles: int = _spec(32, low=1, doc="N = N': online and target quantile samples in the loss")
    n_quantiles_policy: int = _spec(32, low=1, doc="K: quantile samples for acting and action selection")
    tau_sampling: str = _spec("uniform", choices=("uniform", "stratified"),
                              doc="tau for the loss: i.i.d. uniform or stratified-symmetric (needs even N)")
    n_cos: int = _spec(64, low=1, doc="cosines in the tau embedding")
    hidden_units: int = _spec(512, low=1, doc="width of the torso, embedding and heads")
    dueling: bool = _spec(True, doc="dueling value/advantage head")
    kappa: float = _spec(1.0, low=0.0, low_open=True, doc="Huber threshold of the quantile loss")
    n_step: int = _spec(3, low=1, high=1000)
    target_update: str = _spec("soft", choices=("soft", "hard"), doc="Polyak averaging or a periodic copy")
    target_tau: float = _spec(0.02, low=0.0, low_open=True, high=1.0, doc="Polyak rate (soft updates)")
    target_update_period: int = _spec(4, low=1, doc="gradient steps between target updates")
    optimizer: str = _spec("adam", choices=("adam", "radam"))
    adam_eps: float = _spec(1e-4, low=0.0, low_open=True)
    grad_clip: float = _spec(30.0, low=0.0, doc="max gradient norm; 0 disables clipping")
    epsilon_start: float = _spec(1.0, low=0.0, high=1.0)
    epsilon_end: float = _spec(0.05, low=0.0, high=1.0)
    epsilon_decay_steps: int = _spec(250_000, low=0, doc="env steps of the linear epsilon decay")
    replay_size: int = _spec(1_000_000, low=1)
    learning_starts: int = _spec(20_000, low=0, doc="transitions in replay before learning starts")
    train_freq: int = _spec(1, low=1, doc="env steps per round of gradient steps")
    gradient_steps: int = _spec(1, low=1, doc="gradient steps per round")
    prioritized: bool = _spec(False, doc="prioritised replay (sum tree)")
    priority_alpha: float = _spec(0.6, low=0.0, high=1.0)
    priority_beta_start: float = _spec(0.4, low=0.0, high=1.0)
    priority_beta_steps: int = _spec(1_000_000, low=1, doc="env steps to anneal beta to 1")


@dataclass
class TrainConfig:
    """Training-loop settings."""

    total_timesteps: int = _spec(5_000_000, low=1, doc="environment steps (summed over envs)")
    eval_interval: int = _spec(50_000, low=1)
    save_interval: int = _spec(100_000, low=1)
    eval_episodes: int = _spec(10, low=1)
    log_interval: int = _spec(1_000, low=1, doc="env steps between TensorBoard scalar writes")
    seed: int = _spec(0, low=0, high=2**32 - 1)
    log_dir: str = _spec("logs")
    checkpoint_dir: str = _spec("checkpoints")
    keep_step_checkpoints: bool = _spec(True, doc="keep step_<N>.pt files besides last.pt/best.pt")
    save_replay: bool = _spec(False, doc="also save the replay buffer with last.pt (large)")
    device: str = _spec("auto", doc="auto, cpu, cuda or cuda:<index>")
    torch_threads: int = _spec(0, low=0, high=1024, doc="CPU threads for PyTorch; 0 keeps its default")
    progress: bool = _spec(True, doc="show a tqdm progress bar")
    learner: str = _spec("auto", choices=("auto", "inline", "thread"),
                         doc="where gradient steps run: inline in the acting loop, or a background thread "
                             "(auto: thread for the live backends, whose world does not wait)")
    max_learner_backlog: int = _spec(256, low=1, doc="thread learner: credited updates kept before "
                                                     "further ones are skipped (and counted)")


@dataclass
class Config:
    env: EnvConfig = field(default_factory=EnvConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_SECTIONS: dict[str, type] = {"env": EnvConfig, "agent": AgentConfig, "train": TrainConfig}


def _where(source: str, key: str) -> str:
    return f"{source}: {key}" if source else key


def _describe_range(meta: Mapping[str, Any], kind: type) -> str:
    if meta.get("choices"):
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    low, high = meta.get("low"), meta.get("high")
    name = "an integer" if kind is int else "a number"
    if low is None and high is None:
        return name
    lo = "(-inf" if low is None else ("(" if meta["low_open"] else "[") + f"{low:g}"
    hi = "inf)" if high is None else f"{high:g}" + (")" if meta["high_open"] else "]")
    return f"{name} in {lo}, {hi}"


def _coerce_number(value: Any, kind: type, where: str, meta: Mapping[str, Any]) -> int | float:
    expected = _describe_range(meta, kind)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"{where}: expected {expected}, got {type(value).__name__} {value!r}")
    number: float
    if isinstance(value, str):
        try:
            number = int(value) if kind is int and value.strip().lstrip("+-").replace("_", "").isdigit() \
                else float(value)
        except ValueError:
            raise ConfigError(f"{where}: expected {expected}, got the text {value!r}") from None
    else:
        number = value
    if isinstance(number, float) and not math.isfinite(number):
        raise ConfigError(f"{where}: expected {expected}, got {value!r}")
    if kind is int:
        if isinstance(number, float):
            if not number.is_integer():
                raise ConfigError(f"{where}: expected {expected}, got the fraction {value!r}")
            number = int(number)
    else:
        number = float(number)
    low, high = meta.get("low"), meta.get("high")
    too_low = low is not None and (number <= low if meta["low_open"] else number < low)
    too_high = high is not None and (number >= high if meta["high_open"] else number > high)
    if too_low or too_high:
        raise ConfigError(f"{where}: {value!r} is out of range; expected {expected}")
    return number


def _coerce(value: Any, hint: Any, where: str, meta: Mapping[str, Any]) -> Any:
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint in (int, float):
        return _coerce_number(value, hint, where, meta)
    if hint is str:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: expected a non-empty string, got {value!r}")
        if meta.get("choices") and value not in meta["choices"]:
            raise ConfigError(f"{where}: {value!r} is not valid; expected {_describe_range(meta, str)}")
        return value
    if typing.get_origin(hint) is dict:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping of name: number, got {type(value).__name__}")
        out: dict[str, float] = {}
        for name, weight in value.items():
            if not isinstance(name, str) or not name:
                raise ConfigError(f"{where}: keys must be non-empty strings, got {name!r}")
            out[name] = float(_coerce_number(weight, float, f"{where}.{name}", {"low_open": False,
                                                                                  "high_open": False}))
        return out
    raise TypeError(f"unsupported config field type {hint!r} at {where}")


def _build_env_section(raw: Mapping[str, Any], source: str) -> EnvConfig:
    raw = dict(raw)
    n_envs_field = next(f for f in dataclasses.fields(EnvConfig) if f.name == "n_envs")
    n_envs = _coerce(raw.pop("n_envs", n_envs_field.default), int, _where(source, "env.n_envs"),
                     n_envs_field.metadata)
    try:
        settings = make_settings(raw, where=f"{source}: env." if source else "env.")
    except EnvConfigError as e:
        raise ConfigError(str(e)) from None
    return EnvConfig(**{f.name: getattr(settings, f.name) for f in dataclasses.fields(EnvSettings)},
                     n_envs=n_envs)


def _build_section(kind: type, raw: Any, section: str, source: str) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{_where(source, section)}: expected a mapping of key: value, "
                          f"got {type(raw).__name__}")
    if kind is EnvConfig:
        return _build_env_section(raw, source)
    fields = {f.name: f for f in dataclasses.fields(kind)}
    hints = typing.get_type_hints(kind)
    unknown = sorted(str(k) for k in raw if k not in fields)
    if unknown:
        raise ConfigError(f"{_where(source, section + '.' + unknown[0])}: unknown key; valid keys in "
                          f"{section!r}: {', '.join(fields)}")
    values = {name: _coerce(value, hints[name], _where(source, f"{section}.{name}"), fields[name].metadata)
              for name, value in raw.items()}
    return kind(**values)


def _check_consistency(cfg: Config, source: str) -> None:
    agent = cfg.agent
    if agent.epsilon_end > agent.epsilon_start:
        raise ConfigError(f"{_where(source, 'agent.epsilon_end')}: {agent.epsilon_end} is above "
                          f"agent.epsilon_start ({agent.epsilon_start}); epsilon must decay")
    if agent.tau_sampling == "stratified" and agent.n_quantiles % 2:
        raise ConfigError(f"{_where(source, 'agent.n_quantiles')}: {agent.n_quantiles} is odd; stratified "
                          "tau sampling mirrors pairs and needs an even number (or set tau_sampling: uniform)")
    if agent.batch_size > agent.replay_size:
        raise ConfigError(f"{_where(source, 'agent.batch_size')}: {agent.batch_size} exceeds "
                          f"agent.replay_size ({agent.replay_size}); use a smaller batch or a larger replay")
    device = cfg.train.device
    if device not in ("auto", "cpu", "cuda") and not (device.startswith("cuda:") and device[5:].isdigit()):
        raise ConfigError(f"{_where(source, 'train.device')}: {device!r} is not valid; "
                          "expected 'auto', 'cpu', 'cuda' or 'cuda:<index>'")


def config_from_dict(data: Any, source: str = "") -> Config:
    """Validate a nested mapping (as read from YAML) into a :class:`Config`."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source or 'config'}: expected a mapping with sections "
                          f"{', '.join(_SECTIONS)}, got {type(data).__name__}")
    unknown = sorted(str(k) for k in data if k not in _SECTIONS)
    if unknown:
        raise ConfigError(f"{_where(source, unknown[0])}: unknown section; valid sections: "
                          f"{', '.join(_SECTIONS)}")
    cfg = Config(**{name: _build_section(kind, data.get(name), name, source)
                    for name, kind in _SECTIONS.items()})
    _check_consistency(cfg, source)
    return cfg


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config file; raises :class:`ConfigError` naming the file and key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found; pass an existing YAML file "
                          "(e.g. configs/iqn_spa_falpha2022.yaml)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return config_from_dict(data, str(path))


def save_config(cfg: Config, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False), encoding="utf-8")


def override(cfg: Config, assignments: Iterable[str]) -> Config:
    """Return a copy of ``cfg`` with ``section.key=value`` assignments applied (values parsed as YAML)."""
    data = cfg.to_dict()
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        parts = key.strip().split(".")
        if not sep or len(parts) != 2 or not all(parts):
            raise ConfigError(f"override {assignment!r}: expected section.key=value, e.g. agent.lr=1e-4")
        section, name = parts
        if section not in data:
            raise ConfigError(f"override {assignment!r}: unknown section {section!r}; valid sections: "
                              f"{', '.join(_SECTIONS)}")
        try:
            value = yaml.safe_load(text) if text.strip() else text
        except yaml.YAMLError as exc:
            raise ConfigError(f"override {assignment!r}: value is not valid YAML: {exc}") from None
        data[section][name] = value
    return config_from_dict(data, "override")
