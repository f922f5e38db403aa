"""Every ``>>>`` example in a docstring of freefim runs as a doctest (issue 20).

The modules are found by walking the package, so a new module's examples run without listing it here.
"""
import doctest
import importlib
import pkgutil

import pytest

import freefim

MODULES = ["freefim"] + sorted(info.name for info in pkgutil.walk_packages(freefim.__path__, "freefim.")
                               if info.name != "freefim.__main__")
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def examples(module):
    return sum(len(test.examples) for test in doctest.DocTestFinder().find(module))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=FLAGS, verbose=False, report=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} failed (run python -m doctest -v)"
    assert result.attempted == examples(module)


def test_the_public_modules_have_examples():
    # the package's front door and the layers a user starts from show how they are called
    for name in ["freefim", "freefim.network", "freefim.numeric", "freefim.symbolic", "freefim.criticality"]:
        assert examples(importlib.import_module(name)) > 0, name
