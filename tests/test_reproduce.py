"""``freefim reproduce --quick`` (issue 20): every claim of the source papers, its table and its figures."""
import json

import pytest

from freefim.cli import main
from freefim.reproduce import CLAIMS


def test_reproduce_quick_writes_the_report_and_every_claim_holds(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "report"
    assert main(["reproduce", "--quick", "--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    report = json.loads((out / "report.json").read_text())
    assert printed == report and report["quick"] is True
    assert len(report["claims"]) == len(CLAIMS) == 5
    for claim in report["claims"]:
        assert claim["paper"] and claim["statement"] and claim["criterion"] and claim["measured"]
        assert claim["holds"] is True, claim
        assert (out / claim["figure"]).stat().st_size > 5000
    md = (out / "report.md").read_text()
    assert md.count("| yes |") == 5 and "peak-linear-in-depth" in md
    assert sorted(p.name for p in out.iterdir()) == sorted(report["files"])
    peak = next(c for c in report["claims"] if c["id"] == "peak-linear-in-depth")["measured"]
    assert peak["theory_slope"] > 0 and peak["theory_r2"] > 0.99


def test_reproduce_refuses_a_file_as_folder(tmp_path, capsys):
    path = tmp_path / "x"
    path.write_text("")
    assert main(["reproduce", "--quick", "--out", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err
