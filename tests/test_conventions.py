"""Package conventions (issue 20): lazy start-up, the version from the package metadata, the typing
marker and the citation file."""
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path


import freefim

ROOT = Path(__file__).resolve().parents[1]


def modules_after(code):
    """The modules a fresh interpreter has loaded after running ``code``."""
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_import_freefim_is_lazy():
    loaded = modules_after("import freefim")
    for heavy in ("sympy", "matplotlib", "numba", "scipy", "freefim.statistics", "freefim.training",
                  "freefim.symbolic", "freefim.numeric", "tqdm"):
        assert heavy not in loaded, heavy


def test_the_density_command_loads_only_what_it_needs():
    loaded = modules_after("import io, contextlib\nfrom freefim.cli import main\n"
                           "with contextlib.redirect_stdout(io.StringIO()):\n"
                           "    assert main(['density', '--x', '4', '--json']) == 0")
    assert "freefim.numeric" in loaded
    # a small solve runs the numpy loop: numba (~0.6 s to load) only for long runs (numeric.COMPILED_AFTER)
    for heavy in ("sympy", "matplotlib", "numba", "freefim.statistics", "freefim.symbolic", "freefim.plotting"):
        assert heavy not in loaded, heavy


def test_version_from_the_package_metadata():
    try:
        expected = importlib.metadata.version("freefim")
    except importlib.metadata.PackageNotFoundError:
        expected = "0+unknown"
    assert freefim.__version__ == expected
    assert freefim._version() == expected


def test_version_option_prints_it_and_exits_0():
    run = subprocess.run([sys.executable, "-m", "freefim", "--version"], capture_output=True, text=True)
    assert run.returncode == 0 and run.stderr == ""
    assert run.stdout == f"freefim {freefim.__version__}\n"


def test_typed_marker_is_shipped():
    assert (Path(freefim.__file__).parent / "py.typed").is_file()
    assert 'freefim = ["py.typed"]' in (ROOT / "pyproject.toml").read_text()


def test_citation_names_the_papers():
    text = (ROOT / "CITATION.cff").read_text()
    assert text.startswith("cff-version: 1.2.0")
    for title in ["The Spectrum of Fisher Information of Deep Networks Achieving Dynamical Isometry",
                  "Universal Statistics of Fisher Information in Deep Neural Networks: Mean Field Approach",
                  "Pathological Spectra of the Fisher Information Metric and Its Variants in Deep Neural Networks",
                  "Fisher Information and Natural Gradient Learning of Random Deep Networks"]:
        assert f'title: "{title}"' in text, title


def test_deep_piecewise_chains_run_the_compiled_loop_at_once():
    # numeric.COMPILED_DEPTH: a deep chain loads the kernels at its first solve; a shallow one waits
    from freefim.numeric import COMPILED_DEPTH

    code = ("import sys\nfrom freefim import Network, spectrum\n"
            "spectrum(Network('relu', 'orthogonal', 2.0, 0.1, depth={depth})).density([4.0])\n"
            "print('numba' in sys.modules)")
    for depth, compiled in [(3, False), (COMPILED_DEPTH + 1, True)]:
        out = subprocess.run([sys.executable, "-c", code.format(depth=depth)], capture_output=True, text=True, check=True)
        assert out.stdout.split()[-1] == str(compiled), (depth, out.stdout)
