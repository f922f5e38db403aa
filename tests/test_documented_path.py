"""The documented path (issue 16): optional dependencies and output paths checked before computing,
atoms matched per network, help texts from the real defaults with a runnable example, the closed form
reachable, truthful JSON."""
import json
import shlex

import pytest

from freefim import Network, Spectrum
from freefim.cli import build_parser, main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plot_without_matplotlib_fails_before_computing(capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    code, out, err = run(capsys, "compare", "--width", "5000", "--trials", "50", "--plot", "cmp.png")
    assert code == 2 and out == "" and err == "freefim: error: --plot cmp.png needs matplotlib: pip install 'freefim[plot]'\n"


@pytest.mark.parametrize("path,fragment", [("/nonexistent/x.png", "does not exist"), ("x.unknown", "unknown image format")])
def test_plot_path_is_checked_before_computing(capsys, path, fragment):
    code, out, err = run(capsys, "depth-sweep", "--width", "5000", "--depths", "2", "64", "--plot", path)
    assert code == 2 and out == "" and err.count("\n") == 1 and fragment in err


def test_compare_matches_atoms_per_network(capsys):
    # the README network with Gaussian weights: a network's own atom may sit > 10% away from 1.1
    code, out, _ = run(capsys, "compare", "--weights", "gaussian", "--width", "50", "--trials", "2", "--json")
    atom = json.loads(out)["atoms"][0]
    assert code == 0 and atom["predicted"] == pytest.approx(0.5)
    # every network's atom is found with its own mass (up to eigvalsh rounding: an exact count)
    assert atom["found"] == pytest.approx(atom["predicted_per_network"], abs=1e-12) and atom["found"] > 0.3


def test_compare_refuses_a_width_with_no_continuous_part(capsys):
    code, _, err = run(capsys, "compare", "--width", "2", "--trials", "1")
    assert code == 2 and "no continuous part" in err


def test_huge_variance_is_refused_not_nan(capsys):
    code, out, err = run(capsys, "density", "--sigma-w2", "1e100", "--json")
    assert code == 2 and out == "" and "leaves the float64 range" in err


def test_lr_sweep_help_shows_what_it_runs():
    from freefim.training import DEFAULT_NETWORK

    text = build_parser()._subparsers._group_actions[0].choices["lr-sweep"].format_help()
    flat = " ".join(text.split())
    assert f"default {DEFAULT_NETWORK['activation']})" in flat
    for key in ("sigma_w2", "sigma_b2", "q0"):
        assert f"(default {DEFAULT_NETWORK[key]})" in flat
    assert "depths to train" in flat


def help_examples():
    choices = build_parser()._subparsers._group_actions[0].choices
    out = []
    for name, parser in choices.items():
        text = parser.format_help()
        assert "example:" in text, f"{name} --help has no example"
        out.append(text.split("example:")[1].strip().splitlines()[0].strip())
    return out


@pytest.mark.parametrize("example", help_examples())
def test_every_help_example_runs(capsys, monkeypatch, tmp_path, example):
    monkeypatch.chdir(tmp_path)  # files the examples write (reproduce's report/) land here, not in the checkout
    argv = shlex.split(example)
    assert argv[0] == "freefim"
    code, out, err = run(capsys, *argv[1:])
    assert code == 0, err
    assert out.strip()


def test_closed_form_is_exported_with_latex_and_the_usual_defaults(capsys):
    import freefim

    cf = freefim.closed_form("relu", "orthogonal", 2, depth=3)
    assert float(cf.moments(1)[0]) == pytest.approx(Spectrum(Network("relu", "orthogonal", 2.0, 0.1, 3)).moments.m1)
    code, out, _ = run(capsys, "closed-form", "--latex")
    assert code == 0 and out.strip() == cf.latex()
    code, _, err = run(capsys, "closed-form", "--weights", "gaussian", "--depth", "5")
    assert code == 2 and "up to depth 3 for gaussian weights" in err


@pytest.mark.parametrize("sw2,sb2,q0", [(2.4, 0.15, 1.3), (1.1, 0.6, 0.35)])
def test_closed_form_has_no_negative_atoms(sw2, sb2, q0):
    from freefim import closed_form

    net = Network("hardtanh", "orthogonal", sw2, sb2, 3, q0)
    cf = closed_form(net)
    values = cf._values()
    masses = sorted(float(__import__("sympy").sympify(m).subs(values)) for _, m in cf.atoms)
    numeric = sorted(a.mass for a in Spectrum(net).atoms)
    assert min(masses) > 0 and masses == pytest.approx(numeric, rel=1e-10)


def test_conditional_density_integrates_to_one():
    from scipy import integrate

    spec = Spectrum(Network("relu", "gaussian", 2.0, 0.1, 3))
    (a, b), = spec.support()
    mass, _ = integrate.quad(spec.conditional_density, a, b, limit=200)
    assert mass == pytest.approx(1, abs=1e-7)
    assert spec.conditional_density(4.0) == pytest.approx(spec.density(4.0) / (1 - spec.atom_mass), rel=1e-8)


def test_json_has_no_strings_for_infinity(capsys):
    # the default relu/orthogonal depth-3 law is an arcsine law: its density diverges at both edges
    code, out, _ = run(capsys, "density", "--points", "3", "--json")
    peak = json.loads(out)["peak"]
    assert code == 0 and peak["height"] is None and peak["diverges"] is True


def test_depth_sweep_json_has_no_single_depth(capsys):
    code, out, _ = run(capsys, "depth-sweep", "--depths", "2", "3", "--width", "60", "--trials", "1", "--json")
    data = json.loads(out)
    assert code == 0 and "depth" not in data["network"] and [r["depth"] for r in data["rows"]] == [2, 3]


def test_threads_option(capsys):
    code, out, _ = run(capsys, "sample", "--width", "60", "--trials", "1", "--threads", "1", "--json")
    assert code == 0 and len(json.loads(out)["eigenvalues"][0]) == 60
    from freefim.montecarlo import blas_threads

    with pytest.raises(ValueError, match="threads must be an integer >= 1, got 0"):
        blas_threads(100, 0)


def readme_commands():
    """The README's command lines (`freefim reproduce` is run by tests/test_reproduce.py)."""
    import pathlib

    text = (pathlib.Path(__file__).parent.parent / "README.md").read_text()
    out = []
    for line in text.splitlines():
        line = line.strip().removeprefix("$ ")
        if line.startswith("freefim ") or ".venv/bin/freefim " in line or line.endswith(".venv/bin/freefim density"):
            command = line[line.index("freefim"):].split("#")[0].strip()
            if not command.split()[1].endswith(":") and command.split()[1] != "reproduce":  # not printed output
                out.append(command)
    assert len(out) >= 9
    return out


SMALL_SIZES = {"sample": ["--width", "100", "--trials", "1"], "compare": ["--width", "100", "--trials", "1"],
               "depth-sweep": ["--width", "60", "--trials", "1"], "lr-sweep": ["--width", "16", "--steps-per-layer", "10"],
               "stats": ["--width", "100", "--mc-trials", "2"], "ntk": ["--width", "100", "--mc-trials", "2"],
               "natgrad": ["--width", "16", "--steps", "30"]}


def _shrink(argv):
    """The README command at small sizes: its own --width/--trials/--steps-per-layer replaced."""
    extra = SMALL_SIZES.get(argv[0], [])
    keys = set(extra[::2])
    out, skip = [], False
    for i, a in enumerate(argv):
        if skip:
            skip = False
            continue
        if a in keys:
            skip = True
            continue
        out.append(a)
    return out + extra


@pytest.mark.parametrize("command", readme_commands())
def test_every_readme_command_runs(capsys, monkeypatch, tmp_path, command):
    monkeypatch.chdir(tmp_path)  # --plot files land here
    argv = _shrink(shlex.split(command)[1:])
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert out.strip()
    for i, a in enumerate(argv):
        if a == "--plot":
            assert (tmp_path / argv[i + 1]).stat().st_size > 5000


def test_accuracy_warning_is_one_line_on_stderr(capsys):
    """A library warning reaches the terminal as one line, not a Python warning with its source line."""
    code, out, err = run(capsys, "depth-sweep", "--activation", "hardtanh", "--sigma-w2", "0.915", "--sigma-b2",
                         "0.0026", "--q0", "0.0332", "--depths", "2", "7", "--json")
    assert code == 0 and json.loads(out)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("freefim: warning: the density of Network('hardtanh'"), err
    assert "accurate to" in lines[0]
