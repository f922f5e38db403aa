"""Execute every notebook of this folder at full size and store it with its outputs and figures.

    python notebooks/execute.py [NAME ...]      # e.g. python notebooks/execute.py fim_family

The test suite runs the same notebooks small (``FREEFIM_SMALL=1``) in memory and never writes them.
Prints the time each notebook took.
"""
import os
import pathlib
import sys
import time

import nbclient
import nbformat

HERE = pathlib.Path(__file__).resolve().parent


def main(names):
    paths = [HERE / f"{n}.ipynb" for n in names] if names else sorted(HERE.glob("*.ipynb"))
    env_small = os.environ.pop("FREEFIM_SMALL", None)
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")]))
    try:
        for path in paths:
            start = time.perf_counter()
            nb = nbformat.read(path, as_version=4)
            nbclient.NotebookClient(nb, timeout=3600, kernel_name="python3",
                                    resources={"metadata": {"path": str(HERE)}}).execute()
            nbformat.write(nb, path)
            print(f"{path.name}: {time.perf_counter() - start:.0f} s", flush=True)
    finally:
        if env_small is not None:
            os.environ["FREEFIM_SMALL"] = env_small


if __name__ == "__main__":
    main(sys.argv[1:])
