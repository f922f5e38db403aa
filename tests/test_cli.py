"""The freefim command line: the density command's JSON contract and its errors."""
import json
import subprocess
import sys

import numpy as np
import pytest

from freefim import Network, Spectrum
from freefim.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_density_json_contract(capsys):
    code, out, err = run(capsys, "density", "--activation", "hardtanh", "--weights", "gaussian", "--sigma-w2", "1.1",
                         "--sigma-b2", "0.05", "--depth", "4", "--points", "50", "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert {"x", "density", "atoms", "moments", "support"} <= set(data)
    spec = Spectrum(Network("hardtanh", "gaussian", 1.1, 0.05, 4))
    assert len(data["x"]) == len(data["density"]) == 50
    np.testing.assert_allclose(data["density"], spec.density(np.array(data["x"])), rtol=1e-12)
    assert data["moments"] == pytest.approx({"m1": spec.moments.m1, "m2": spec.moments.m2})
    assert [(a["location"], a["mass"]) for a in data["atoms"]] == [(a.location, a.mass) for a in spec.atoms]
    assert data["support"] == [list(iv) for iv in spec.support()]


def test_density_at_given_points_and_human_output(capsys):
    code, out, _ = run(capsys, "density", "--x", "4", "5", "6", "--json")
    data = json.loads(out)
    assert code == 0 and data["x"] == [4.0, 5.0, 6.0]
    # relu/orthogonal depth 3 default: arcsine law on [3.2, 7.2] carrying mass 1/2
    expected = 0.5 / (np.pi * np.sqrt((np.array(data["x"]) - 3.2) * (7.2 - np.array(data["x"]))))
    np.testing.assert_allclose(data["density"], expected, rtol=1e-9)
    code, out, _ = run(capsys, "density", "--points", "5")
    assert code == 0 and "support: [3.2, 7.2]" in out and "0.5 at 1.1" in out


@pytest.mark.parametrize("argv,fragment", [
    (["--activation", "swish"], "unknown activation 'swish'"),
    (["--sigma-w2", "0"], "sigma_w2 must be > 0, got 0.0"),
    (["--sigma-w2", "-2"], "sigma_w2 must be > 0, got -2.0"),
    (["--depth", "0"], "depth must be an integer in [1, 1000000], got 0"),
    (["--sigma-b2", "nan"], "expected a finite number, got 'nan'"),
    (["--sigma-w2", "two"], "expected a number, got 'two'"),
    (["--depth", "3.5"], "expected an integer, got '3.5'"),
    (["--weights", "uniform"], "unknown weights 'uniform'"),
    (["--points", "0"], "--points must be an integer in [1, 1000000], got 0"),
    (["--dps", "5"], "--dps must be an integer in [16, 1000], got 5"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv, fragment):
    code, out, err = run(capsys, "density", *argv, "--json")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err


def test_installed_entry_point_exit_code():
    bad = subprocess.run([sys.executable, "-m", "freefim", "density", "--depth", "0", "--json"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip().splitlines() == ["freefim: error: --depth must be an integer in [1, 1000000], got 0"]
    good = subprocess.run([sys.executable, "-m", "freefim", "density", "--points", "3", "--json"],
                          capture_output=True, text=True)
    assert good.returncode == 0 and json.loads(good.stdout)["moments"]["m1"] == pytest.approx(3.15)
