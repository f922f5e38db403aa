"""Sphinx configuration of the freefim documentation.

Build (warnings are errors)::

    python -m sphinx -W -b html docs docs/_build/html

The notebooks of ``notebooks/`` are copied into ``docs/notebooks/`` (not tracked) and rendered by
myst-nb with the outputs they were stored with: nothing is executed while the docs build.
"""
import json
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # document this checkout's freefim, installed or not

import freefim  # noqa: E402

project = "freefim"
author = "The freefim developers"
copyright = "The freefim developers"
release = freefim.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # numpydoc-style docstrings
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_nb",
]

# the notebooks, with their stored outputs (never executed here: the test suite runs them)
_NOTEBOOKS = HERE / "notebooks"
shutil.rmtree(_NOTEBOOKS, ignore_errors=True)
_NOTEBOOKS.mkdir()
for _nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
    _doc = json.loads(_nb.read_text())
    # cell ids (nbformat 4.5) where the stored notebook has none: stable ones, so that readers do not warn
    for _k, _cell in enumerate(_doc["cells"]):
        _cell.setdefault("id", f"cell-{_k}")
    _doc["nbformat_minor"] = max(_doc.get("nbformat_minor", 0), 5)
    (_NOTEBOOKS / _nb.name).write_text(json.dumps(_doc, indent=1))

nb_execution_mode = "off"
myst_enable_extensions = ["dollarmath", "amsmath"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
templates_path = []
html_theme = "alabaster"
html_static_path = []
html_theme_options = {"description": "Spectrum of the Fisher information of deep random networks by free probability"}
# matplotlib is imported by the plotting functions only: no display needed to document them
os.environ.setdefault("MPLBACKEND", "Agg")

# the command line's help, as the installed command prints it (docs/_generated/, not tracked)
_GENERATED = HERE / "_generated"
_GENERATED.mkdir(exist_ok=True)


def _cli_help():
    import argparse

    from freefim.cli import build_parser

    parser = build_parser()
    parts = [parser.format_help()]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                parts.append(f"$ freefim {name} --help\n{sub.format_help()}")
    return "\n".join(parts)


os.environ.setdefault("COLUMNS", "100")  # argparse wraps at the terminal width: a fixed page
(_GENERATED / "cli_help.txt").write_text(_cli_help())
