"""Bad input on the command line: every command x every kind of mistake exits with status 2 and
one line on stderr naming the bad value, before any computation, never a traceback."""
import pytest

from freefim.cli import main

NETWORK_COMMANDS = ["density", "sample", "compare", "depth-sweep", "closed-form", "stats", "lr-sweep", "natgrad"]

# (kind, arguments, a fragment the one-line message must contain)
NETWORK_MISTAKES = [
    ("missing", ["--sigma-w2"], "expected one argument"),
    ("non-number", ["--sigma-w2", "two"], "'two'"),
    ("nan", ["--sigma-b2", "nan"], "'nan'"),
    ("inf", ["--q0", "inf"], "'inf'"),
    ("negative", ["--sigma-w2", "-1"], "-1"),
    ("negative", ["--sigma-b2", "-0.5"], "-0.5"),
    ("negative", ["--q0", "-1"], "-1"),
    ("zero", ["--sigma-w2", "0"], "0"),
    ("zero", ["--q0", "0"], "0"),
    ("zero", ["--depth", "0"], "0"),
    ("huge", ["--sigma-w2", "1e308"], "1e+308"),
    ("huge", ["--q0", "1e200"], "1e+200"),
    ("huge", ["--depth", "1000000000000"], "1000000000000"),
    ("tiny", ["--sigma-w2", "1e-320"], "1e-320"),
    ("tiny", ["--q0", "1e-200"], "1e-200"),
    ("float for integer", ["--depth", "2.5"], "'2.5'"),
    ("unknown name", ["--activation", "swish"], "'swish'"),
    ("unknown name", ["--weights", "uniform"], "'uniform'"),
    ("unknown option", ["--sigma-w", "2"], "--sigma-w"),
]

COMMAND_MISTAKES = {
    "density": [(["--points", "1000000000000"], "1000000000000"), (["--points", "0"], "0"),
                (["--points", "2.5"], "'2.5'"), (["--x", "nan"], "'nan'"), (["--x"], "expected at least one"),
                (["--dps", "10000"], "10000"), (["--dps", "5"], "5"), (["--x", "1", "--points", "3"], "not allowed")],
    "sample": [(["--width", "0"], "0"), (["--width", "1000000000"], "1000000000"), (["--trials", "0"], "0"),
               (["--trials", "-1"], "-1"), (["--seed", "-1"], "-1"), (["--width", "2.5"], "'2.5'")],
    "compare": [(["--width", "100000"], "100000"), (["--trials", "1.5"], "'1.5'"), (["--seed", "x"], "'x'")],
    "depth-sweep": [(["--depths", "1"], "1"), (["--depths", "4", "1000000000"], "1000000000"),
                    (["--depths", "2.5"], "'2.5'")],
    "closed-form": [(["--x", "inf"], "'inf'")],
    "stats": [(["--outputs", "0"], "0"), (["--samples", "1000000000"], "1000000000"),
              (["--momentum", "1.5"], "1.5"), (["--mc-trials", "-1"], "-1"), (["--alphas", "-1", "1", "1"], "-1")],
    "lr-sweep": [(["--steps-per-layer", "0"], "0"), (["--lrs", "-1"], "-1"), (["--depths", "1"], "1"),
                 (["--width", "0"], "0")],
    "natgrad": [(["--width", "2"], "2"), (["--steps", "0"], "0"), (["--lr-sgd", "-1"], "-1"), (["--lr-ng", "0"], "0"),
                (["--damping", "-0.5"], "-0.5"), (["--batch", "0"], "0"), (["--steps", "1.5"], "'1.5'")],
    "critical": [(["--q-star", "-1"], "-1"), (["--q-star", "nan"], "'nan'"), (["--q-star"], "expected one argument"),
                 (["--activation", "swish", "--q-star", "0.1"], "'swish'"), (["--q-star", "0.1", "--weights", "x"], "'x'"),
                 (["--q-star", "1e308"], "1e+308"), (["--q-star", "0"], "0")],
}

CASES = [(cmd, args, frag) for cmd in NETWORK_COMMANDS for _, args, frag in NETWORK_MISTAKES]
CASES += [(cmd, args, frag) for cmd, rows in COMMAND_MISTAKES.items() for args, frag in rows]
CASES += [("nonexistent-command", [], "nonexistent-command"), ("density", ["--json", "extra"], "extra")]


@pytest.mark.parametrize("command,args,fragment", CASES, ids=[f"{c} {' '.join(a)}" for c, a, _ in CASES])
def test_bad_input_exits_2_with_one_line(capsys, command, args, fragment):
    code = main([command, *args, "--json"] if command != "nonexistent-command" else [command])
    captured = capsys.readouterr()
    assert code == 2, (code, captured.err)
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("freefim: error: "), captured.err
    assert fragment in lines[0] and "Traceback" not in captured.err


def _wait_for(proc, library, timeout=30.0):
    """Wait until the child has mapped ``library`` (its imports are under way)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(f"/proc/{proc.pid}/maps") as maps:
            if library in maps.read():
                return
        time.sleep(0.002)
    raise AssertionError(f"{library} never loaded")


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/maps"), reason="needs Linux /proc")
@pytest.mark.parametrize("moment", ["imports", "computation"])
def test_ctrl_c_exits_quietly_with_130(moment):
    """An interrupt during start-up (numpy being imported) or during the computation: status 130, one line."""
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-m", "freefim", "density", "--activation", "tanh", "--depth", "40",
                             "--points", "400"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(proc, "numpy")
    if moment == "computation":
        _wait_for(proc, "scipy")
        time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err == "freefim: interrupted\n", (proc.returncode, err)
