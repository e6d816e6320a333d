"""Deterministic, distinct values for every field of every page (shared by writer and reader sides)."""

from __future__ import annotations

import numpy as np

from ac_core import pages as P


def fill_page(kind: str, seed: int = 0) -> np.ndarray:
    page = P.empty_page(kind)
    texts = P.text_fields(kind)
    for i, name in enumerate(page.dtype.names):
        if name in texts:
            P.set_text(page, name, f"{kind[:2]}{name[:8]}{seed}é")
            continue
        field = page[name]
        n = max(1, field.size)
        base = (i + 1) * 100 + seed
        values = np.arange(base, base + n).reshape(field.shape) if field.shape else base
        if field.dtype.kind == "f":
            page[name] = np.asarray(values, dtype=np.float32) + np.float32(0.25)
        else:
            page[name] = values
    return page
