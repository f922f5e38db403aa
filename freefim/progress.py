"""A minimal progress bar for long runs (Monte Carlo, sweeps).

Shown on stderr only when stderr is a terminal and the caller did not ask for
machine-readable output; otherwise it is silent, so ``--json`` output and logs
stay clean.
"""
from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    """Context manager: ``with Progress(total, "sampling") as bar: ... bar.update()``.

    ``enabled=None`` means "only if stderr is a terminal".
    """

    def __init__(self, total, label="", enabled=None, stream=None):
        self.total = max(int(total), 1)
        self.label = label
        self.stream = stream or sys.stderr
        if enabled is None:
            enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.enabled = bool(enabled)
        self.count = 0
        self._start = time.perf_counter()

    def update(self, n=1):
        self.count += n
        if self.enabled:
            frac = min(self.count / self.total, 1.0)
            bar = "#" * int(30 * frac)
            elapsed = time.perf_counter() - self._start
            self.stream.write(f"\r{self.label} [{bar:<30}] {self.count}/{self.total} {elapsed:6.1f}s")
            self.stream.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
        return False
