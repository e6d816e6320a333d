"""Typed training configuration: YAML file -> validated dataclasses with attribute access.

``load_config(path)`` reads a YAML file with the sections ``env``, ``agent`` and ``train`` (all
optional; missing keys take the defaults below) and returns a :class:`Config`. The seed's example
(``configs/iqn_spa_falpha2022.yaml``) loads exactly as written.

Every field declares its type and its valid range or choices (:func:`ac_core.settings_spec.setting`);
one validator checks all sections (the ``env`` section's fields are ``ac_core.env.settings``'s), so a
bad value, from the file or from ``--set``, raises :class:`ConfigError` with one line naming the file,
the dotted key, the value and the valid range. Then the combinations are checked: the ones that only
make sense together, and the memory the network's activations and the replay buffer would take.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ac_core.agents.settings import AgentConfig
from ac_core.env.settings import EnvConfigError, EnvSettings, check_combinations
from ac_core.errors import InputError, one_line
from ac_core.settings_spec import MAX_STEPS, fail, number_text, parse_section, setting


class ConfigError(InputError, ValueError):
    """A config file or override that cannot be used; the message names the key and the fix."""


# Upper bounds that keep a typo from allocating or computing without end (the agent's are in
# ac_core.agents.settings); the combinations are bounded again below (_MAX_ACTIVATION, the replay).
MAX_ENVS = 4096  # cars in one batched simulator [1-16]; each costs a step's physics and its pages
# The largest tensor a gradient step or an action makes, in floats: 2^30 float32 is 4 GiB, and
# several tensors of that size live at once. The defaults make 2^20.
_MAX_ACTIVATION = 2**30
# The replay buffer may take this share of the machine's memory; the rest is the model, the
# simulator and the system's.
_REPLAY_MEMORY_SHARE = 0.8


@dataclass
class EnvConfig(EnvSettings):
    """The ``env`` section: every environment setting (``ac_core.env.settings.EnvSettings``, one
    definition validated by the environment's own rules) plus ``n_envs``, the cars the trainer runs."""

    n_envs: int = setting(1, low=1, high=MAX_ENVS, doc="parallel environments / cars in the batched simulator")

    def to_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the environment constructor (everything but n_envs)."""
        kwargs = {f.name: getattr(self, f.name) for f in dataclasses.fields(EnvSettings)}
        kwargs["reward"] = dataclasses.asdict(self.reward)
        return kwargs


@dataclass
class TrainConfig:
    """Training-loop settings."""

    total_timesteps: int = setting(5_000_000, low=1, high=MAX_STEPS, doc="environment steps (summed over envs)")
    eval_interval: int = setting(50_000, low=1, high=MAX_STEPS)
    save_interval: int = setting(100_000, low=1, high=MAX_STEPS)
    eval_episodes: int = setting(10, low=1, high=10_000)
    log_interval: int = setting(1_000, low=1, high=MAX_STEPS, doc="env steps between TensorBoard scalar writes")
    seed: int = setting(0, low=0, high=2**32 - 1)
    log_dir: str = setting("logs")
    checkpoint_dir: str = setting("checkpoints")
    keep_step_checkpoints: bool = setting(True, doc="keep step_<N>.pt files besides last.pt/best.pt")
    save_replay: bool = setting(False, doc="also save the replay buffer with last.pt (large)")
    demonstrations: str | None = setting(None, doc="a demonstration set (`ac-core demo`) kept in the replay "
                                                   "for the whole run, with DQfD's large-margin loss")
    device: str = setting("auto", doc="auto, cpu, cuda or cuda:<index>")
    torch_threads: int = setting(0, low=0, high=1024, doc="CPU threads for PyTorch; 0 keeps its default")
    progress: bool = setting(True, doc="show a tqdm progress bar")
    precision: str = setting("fp32", choices=("fp32", "tf32"),
                             doc="float32 matmul precision: tf32 uses a GPU's TensorFloat-32 cores (fp32 "
                                 "accumulation); ac-core train picks tf32 on such a GPU unless set")
    pin_memory: bool = setting(False, doc="copy replay batches to the GPU from page-locked host memory "
                                          "(ac-core train turns it on with a GPU unless set)")
    warmup_seconds: float = setting(4.0, low=0.0, high=3600.0,
                                    doc="ac-core train: time a short warm-up of acting and learning for the ETA "
                                        "printed at start (0: no warm-up, the bar measures the ETA as it goes)")
    eta_advice_hours: float = setting(2.0, low=0.0, high=1e6,
                                      doc="ac-core train on a CPU: name a faster config at start when the "
                                          "measured ETA is longer (0: never)")
    learner: str = setting("auto", choices=("auto", "inline", "thread"),
                           doc="where gradient steps run: inline in the acting loop, or a background thread "
                               "(auto: thread for the live backends, whose world does not wait)")
    max_learner_backlog: int = setting(256, low=1, high=1_000_000,
                                       doc="thread learner: credited updates kept before further ones are "
                                           "skipped (and counted)")


@dataclass
class Config:
    env: EnvConfig = field(default_factory=EnvConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_SECTIONS: dict[str, type] = {"env": EnvConfig, "agent": AgentConfig, "train": TrainConfig}


def _build_section(kind: type, raw: Any, section: str, source: str) -> Any:
    try:
        values = parse_section(kind, raw, section=section, source=source, error=ConfigError)
        built = kind(**values)
        if kind is EnvConfig:
            check_combinations(built, source, ConfigError)
    except EnvConfigError as exc:  # raised by EnvSettings' own rules; the same message, the config's class
        raise ConfigError(str(exc)) from None
    return built


def _check_product(source: str, key: str, value: int, names: str, product: int, fix: str) -> None:
    if product > _MAX_ACTIVATION:
        fail(ConfigError, source, key, value,
             f"makes {names} = {number_text(product)} floats ({product * 4 / 2**30:.0f} GiB) in one tensor",
             f"keep the product at most {number_text(_MAX_ACTIVATION)} ({fix})")


def _check_consistency(cfg: Config, source: str) -> None:
    agent = cfg.agent
    if agent.epsilon_end > agent.epsilon_start:
        fail(ConfigError, source, "agent.epsilon_end", agent.epsilon_end,
             f"is above agent.epsilon_start ({agent.epsilon_start})",
             "epsilon must decay: use an epsilon_end at most epsilon_start")
    if agent.tau_sampling == "stratified" and agent.n_quantiles % 2:
        fail(ConfigError, source, "agent.n_quantiles", agent.n_quantiles,
             "is odd; stratified tau sampling mirrors pairs and needs an even number",
             "use an even number or set tau_sampling: uniform")
    if agent.batch_size > agent.replay_size:
        fail(ConfigError, source, "agent.batch_size", agent.batch_size,
             f"exceeds agent.replay_size ({agent.replay_size})", "use a smaller batch or a larger replay")
    _check_product(source, "agent.batch_size", agent.batch_size, "batch_size × n_quantiles × hidden_units",
                   agent.batch_size * agent.n_quantiles * agent.hidden_units, "a smaller batch, N or width")
    _check_product(source, "agent.batch_size", agent.batch_size, "batch_size × n_quantiles²",
                   agent.batch_size * agent.n_quantiles**2, "the quantile loss is pairwise: fewer quantiles")
    _check_product(source, "agent.n_quantiles_policy", agent.n_quantiles_policy,
                   "env.n_envs × n_quantiles_policy × hidden_units",
                   cfg.env.n_envs * agent.n_quantiles_policy * agent.hidden_units, "fewer cars, K or width")
    device = cfg.train.device
    if device not in ("auto", "cpu", "cuda") and not (device.startswith("cuda:") and device[5:].isdigit()):
        fail(ConfigError, source, "train.device", device, "is not valid", "use auto, cpu, cuda or cuda:<index>")


def observation_size(env: EnvSettings) -> int:
    from ac_core.env.observation import ObservationLayout

    return ObservationLayout.for_settings(env).size


def replay_bytes(cfg: Config) -> int:
    """Bytes the replay buffer allocates (ac_core.agents.replay): obs and next_obs as float32, an int64
    action, three float32 scalars; prioritised replay adds a float64 sum tree of two nodes per slot."""
    per_transition = 2 * 4 * observation_size(cfg.env) + 8 + 3 * 4 + (16 if cfg.agent.prioritized else 0)
    return cfg.agent.replay_size * per_transition


def physical_memory() -> int | None:
    """This machine's physical memory in bytes, where the OS tells it cheaply (None elsewhere)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # Windows has no sysconf
        return None


def check_memory(cfg: Config, source: str) -> None:
    """Refuse a replay buffer larger than this machine can hold, with the largest replay_size that fits.

    Checked where a run starts from a file or --set (load_config, override), not for stored configs,
    which may come from a bigger machine and are only evaluated here."""
    memory = physical_memory()
    if memory is None:
        return
    need = replay_bytes(cfg)
    budget = int(memory * _REPLAY_MEMORY_SHARE)
    if need > budget:
        per = need // cfg.agent.replay_size
        fail(ConfigError, source, "agent.replay_size", cfg.agent.replay_size,
             f"needs {need / 2**30:.1f} GiB for the replay buffer ({per} bytes per transition), more than "
             f"{_REPLAY_MEMORY_SHARE:.0%} of this machine's {memory / 2**30:.1f} GiB",
             f"use at most {number_text(budget // per)}")


def config_from_dict(data: Any, source: str = "") -> Config:
    """Validate a nested mapping (as read from YAML) into a :class:`Config`."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source or 'config'}: expected a mapping with sections "
                          f"{', '.join(_SECTIONS)}, got {type(data).__name__}")
    unknown = sorted(str(k) for k in data if k not in _SECTIONS)
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(_SECTIONS), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigError(f"{source + ': ' if source else ''}{unknown[0]} is an unknown section{hint}; "
                          f"valid sections: {', '.join(_SECTIONS)}")
    cfg = Config(**{name: _build_section(kind, data.get(name), name, source)
                    for name, kind in _SECTIONS.items()})
    _check_consistency(cfg, source)
    return cfg


def shipped_config_dirs() -> list[Path]:
    """Where the shipped configs are: inside an installed package (ac_core/configs), or the source
    tree's configs/ when ac_core runs from a checkout."""
    package = Path(__file__).resolve().parent
    return [d for d in (package / "configs", package.parent.parent / "configs") if d.is_dir()]


def shipped_config_names() -> list[str]:
    return sorted({p.stem for d in shipped_config_dirs() for p in d.glob("*.yaml")})


def resolve_config_path(path: str | Path) -> Path:
    """A config file by path, or a shipped config by name (``iqn_spa_cpu`` or ``iqn_spa_cpu.yaml``), so
    ``--config iqn_spa_cpu`` works from an installed package as from a checkout; a path that exists wins."""
    candidate = Path(path)
    if candidate.exists() or candidate.parent != Path("."):
        return candidate
    name = candidate.name if candidate.suffix in (".yaml", ".yml") else f"{candidate.name}.yaml"
    for folder in shipped_config_dirs():
        if (folder / name).is_file():
            return folder / name
    return candidate


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config file (a path, or a shipped config's name); raises
    :class:`ConfigError` naming the file and key.

    Also refuses a replay buffer this machine cannot hold (:func:`check_memory`)."""
    path = resolve_config_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        names = ", ".join(shipped_config_names()) or "none found"
        raise ConfigError(f"{path}: config file not found; pass a YAML file or a shipped config by name "
                          f"({names})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {one_line(exc)}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {one_line(exc)}") from None
    cfg = config_from_dict(data, str(path))
    check_memory(cfg, str(path))
    return cfg


def keys_set_in(path: str | Path) -> set[str]:
    """The dotted keys a config file sets itself (``env.n_envs``; a nested section as ``env.reward``), as
    opposed to the defaults: what ``ac-core train`` must train as written. Call after :func:`load_config`."""
    data = yaml.safe_load(resolve_config_path(path).read_text(encoding="utf-8")) or {}
    return {f"{section}.{key}" for section, values in data.items() if isinstance(values, Mapping)
            for key in values}


def keys_set_by(assignments: Iterable[str]) -> set[str]:
    """The dotted ``section.key`` each ``--set section.key=value`` assignment sets."""
    return {".".join(a.partition("=")[0].strip().split(".")[:2]) for a in assignments}


def save_config(cfg: Config, path: str | Path) -> None:
    Path(path).write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False), encoding="utf-8")


OVERRIDE_SOURCE = "--set"


def _assign(data: dict[str, Any], assignment: str) -> None:
    key, sep, text = assignment.partition("=")
    parts = key.strip().split(".")
    if not sep or len(parts) < 2 or not all(parts):
        raise ConfigError(f"{OVERRIDE_SOURCE} {assignment!r}: expected section.key=value, e.g. agent.lr=1e-4")
    if parts[0] not in data:
        raise ConfigError(f"{OVERRIDE_SOURCE} {assignment!r}: unknown section {parts[0]!r}; valid sections: "
                          f"{', '.join(_SECTIONS)}")
    try:
        value = yaml.safe_load(text) if text.strip() else text
    except yaml.YAMLError as exc:
        raise ConfigError(f"{OVERRIDE_SOURCE} {assignment!r}: value is not valid YAML: {one_line(exc)}") from None
    target = data[parts[0]]
    for depth, part in enumerate(parts[1:-1], start=1):  # a nested section, e.g. env.reward.progress=0.2
        if not isinstance(target.get(part), dict):
            raise ConfigError(f"{OVERRIDE_SOURCE} {assignment!r}: {'.'.join(parts[:depth + 1])} is not a section; "
                              "expected section.key=value, e.g. env.reward.progress=0.2")
        target = target[part]
    target[parts[-1]] = value


def override(cfg: Config, assignments: Iterable[str]) -> Config:
    """Return a copy of ``cfg`` with ``section.key=value`` assignments applied (values parsed as YAML).

    The result is validated as a file is, with ``--set`` named as the source; an assignment that makes
    the replay buffer larger is checked against this machine's memory."""
    data = cfg.to_dict()
    for assignment in assignments:
        _assign(data, assignment)
    result = config_from_dict(data, OVERRIDE_SOURCE)
    if replay_bytes(result) > replay_bytes(cfg):
        check_memory(result, OVERRIDE_SOURCE)
    return result
