"""Publish AC pages under a prefix from Python: a fixture for tests and benchmarks that play AC.

(The built-in simulator writes its pages in C++, ``ac_core.sim``; this is for tests that need to set
page fields by hand.)

Creates ``<prefix>physics/graphics/static`` as 2048-byte, owner-only pages (simshmbridge's size),
written with a seqlock so the project's readers never see a torn page, while any AC reader still
sees ordinary AC pages. The pages disappear when the publisher closes.
"""

from __future__ import annotations

import numpy as np

from ac_core import _core, _testing
from ac_core import pages as P
from ac_core.shm import DEFAULT_PREFIX, KIND_NAMES, page_name


class PagePublisher:
    def __init__(self, prefix: str = DEFAULT_PREFIX, *, replace_stale: bool = False, mode: int = 0o600) -> None:
        self.prefix = prefix
        self._pages: dict[str, object] = {}
        self._writers: dict[str, object] = {}
        try:
            for kind in KIND_NAMES:
                page = _core.SharedPage.create(
                    page_name(prefix, kind), _core.BRIDGE_PAGE_SIZE, mode=mode, replace_stale=replace_stale
                )
                self._pages[kind] = page
                self._writers[kind] = _testing.PageWriter(page, P.PAGE_KINDS[kind])
        except BaseException:
            self.close()
            raise
        self.physics = P.empty_page("physics")
        self.graphics = P.empty_page("graphics")
        self.static = P.empty_page("static")
        self._buffers = {"physics": self.physics, "graphics": self.graphics, "static": self.static}

    def publish(self, *kinds: str) -> None:
        """Write the local buffers of the given kinds (default: all three) to shared memory."""
        for kind in kinds or KIND_NAMES:
            self._writers[kind].publish(self._buffers[kind])

    def writer(self, kind: str) -> object:
        return self._writers[kind]

    def page(self, kind: str) -> object:
        return self._pages[kind]

    def raw_view(self, kind: str) -> np.ndarray:
        """A writable uint8 view of the whole mapping (for tests that write field by field)."""
        return np.frombuffer(self._pages[kind], dtype=np.uint8)

    def close(self) -> None:
        self._writers.clear()
        for page in self._pages.values():
            page.close()
        self._pages.clear()

    def __enter__(self) -> PagePublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
