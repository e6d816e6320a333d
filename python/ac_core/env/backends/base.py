"""What the environment needs from a page producer."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ac_core.env import step_frames


class Backend(ABC):
    """N cars' current pages plus a way to act, advance one step and reset cars.

    ``physics`` and ``graphics`` are structured arrays [N] (AC page dtypes), ``static`` a 0-d array.
    They hold the pages as of the last ``advance()`` or ``reset_cars()``.
    """

    n: int
    track: Any  # ac_core.track.Track
    physics: np.ndarray
    graphics: np.ndarray
    static: np.ndarray

    @abstractmethod
    def apply(self, controls: np.ndarray) -> None:
        """Set the controls (steer, throttle, brake) [N, 3] for the next step."""

    @abstractmethod
    def advance(self) -> dict[str, Any]:
        """Run one agent step (k physics ticks); refresh the pages. Returns timing info."""

    @abstractmethod
    def reset_cars(self, idx: np.ndarray, rng: np.random.Generator, random_start: bool) -> None:
        """Put the given cars at their episode start and refresh their pages."""

    def step_aggregates(self, off_track_tyres: int) -> dict[str, np.ndarray]:
        """The last step's aggregates over its physics frames (``ac_core.env.step_frames``), arrays [N].
        A backend that hands over only the final page has one frame per step; live backends override
        this with the aggregates of every frame their poller queued."""
        return step_frames.from_pages(self.physics, off_track_tyres)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release processes, pages and devices."""
