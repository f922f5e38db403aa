"""Progress bars for long runs (Monte Carlo, sweeps, training), through ``tqdm`` when it is installed.

A bar is shown on stderr only when stderr is a terminal and the caller did not ask for
machine-readable output (``--json``); otherwise nothing is written, so JSON output and logs stay
clean.  ``tqdm`` is an optional dependency (``pip install tqdm``): without it :class:`Progress`
keeps its interface and counts silently.

>>> import io
>>> with Progress(3, "sampling", stream=io.StringIO()) as bar:  # not a terminal: silent
...     for _ in range(3):
...         bar.update()
>>> bar.count, bar.enabled
(3, False)
"""
from __future__ import annotations

import sys
from typing import IO, Optional

__all__ = ["Progress"]


class Progress:
    """Context manager: ``with Progress(total, "sampling") as bar: ... bar.update()``.

    Parameters
    ----------
    total : int
        Number of steps (at least 1).
    label : str
        Shown before the bar.
    enabled : bool or None
        ``None``: only if ``stream`` is a terminal; ``False``: silent; ``True``: shown.  A bar is
        drawn by ``tqdm``; without ``tqdm`` installed nothing is drawn, whatever ``enabled``.
    stream : file-like, optional
        Where the bar goes (default ``sys.stderr``).
    """

    def __init__(self, total: int, label: str = "", enabled: Optional[bool] = None, stream: Optional[IO[str]] = None):
        self.total = max(int(total), 1)
        self.label = label
        self.stream = stream or sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = bool(enabled)
        self.count = 0
        self._bar = None
        if self.enabled:
            try:  # optional: a missing tqdm is a silent bar, never an error
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=self.total, desc=label or None, file=self.stream, leave=True,
                                 dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        """Count ``n`` more steps done."""
        self.count += n
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        """End the bar (the context manager does it)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False
