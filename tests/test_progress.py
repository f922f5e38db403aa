"""freefim.progress: a tqdm bar on a terminal only, silent elsewhere and without tqdm (optional dependency)."""
import io
import sys

import pytest

from freefim.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_silent_when_not_a_terminal_or_disabled():
    for stream, enabled in [(io.StringIO(), None), (Terminal(), False)]:
        with Progress(5, "sampling", enabled=enabled, stream=stream) as bar:
            for _ in range(5):
                bar.update()
        assert bar.count == 5 and not bar.enabled
        assert stream.getvalue() == ""


def test_a_bar_on_a_terminal():
    pytest.importorskip("tqdm")
    stream = Terminal()
    with Progress(4, "sampling", stream=stream) as bar:
        bar.update(3)
        bar.update()
    out = stream.getvalue()
    assert bar.enabled and bar.count == 4
    assert "sampling" in out and "4/4" in out and out.endswith("\n")


def test_without_tqdm_the_bar_is_silent(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm raises ImportError
    stream = Terminal()
    with Progress(2, "sampling", stream=stream) as bar:
        bar.update(2)
    assert bar.count == 2 and stream.getvalue() == ""


def test_total_is_at_least_one():
    assert Progress(0, enabled=False).total == 1
