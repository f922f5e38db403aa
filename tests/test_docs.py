"""The documentation builds with warnings as errors and documents every public name (issue 20).

Needs sphinx and myst-nb (the ``docs`` and ``test`` extras); skipped without them.
"""
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("myst_nb")

ROOT = Path(__file__).resolve().parents[1]
MODULES = ["network", "activations", "meanfield", "criticality", "laws", "quadrature", "numeric", "kernels",
           "doubledouble", "symbolic", "montecarlo", "statistics", "natgrad", "training", "reproduce", "plotting",
           "progress", "jsonable", "cli"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    run = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(ROOT / "docs"),
                          str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    warnings = [line for line in run.stderr.splitlines() if "WARNING" in line or "ERROR" in line]
    assert run.returncode == 0 and not warnings, run.stderr[-3000:]
    return out


def test_docs_build_without_warnings_with_every_page(built):
    pages = {p.relative_to(built).as_posix() for p in built.rglob("*.html")}
    expected = {"index.html", "api.html", "cli.html"} | {f"layers/{name}.html" for name in
                                                          ["network", "laws", "numeric", "symbolic", "montecarlo",
                                                           "statistics", "plotting"]}
    expected |= {f"notebooks/{nb.stem}.html" for nb in (ROOT / "notebooks").glob("*.ipynb")}
    assert expected <= pages, expected - pages


def test_every_public_name_is_documented(built):
    html = "".join(p.read_text() for p in built.rglob("*.html") if "_modules" not in p.parts)
    ids = set(re.findall(r'id="(freefim[\w.]*)"', html))
    missing = [f"freefim.{name}" for name in ("spectrum", "jacobian_spectrum") if f"freefim.{name}" not in ids]
    for module in MODULES:
        mod = importlib.import_module(f"freefim.{module}")
        missing += [f"freefim.{module}.{name}" for name in mod.__all__ if f"freefim.{module}.{name}" not in ids]
    assert not missing
    # the public methods of the spectrum object too
    for method in ("density", "stieltjes", "support", "peak", "moment", "cdf"):
        assert f"freefim.numeric.Spectrum.{method}" in ids, method


def test_notebooks_are_rendered_with_their_stored_outputs(built):
    # nothing is executed: a notebook stored with figures shows them, one stored without shows its code
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        page = (built / "notebooks" / f"{nb.stem}.html").read_text()
        assert "highlight-ipython3" in page or "highlight-python" in page, nb.stem
    stored_images = sum('"image/png"' in nb.read_text() for nb in (ROOT / "notebooks").glob("*.ipynb"))
    assert len(list((built / "_images").glob("*.png"))) >= stored_images
