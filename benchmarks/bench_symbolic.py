"""Symbolic layer: agreement of the closed forms with the numeric solver, and timings.

Run: python benchmarks/bench_symbolic.py
"""
import time

import numpy as np
import sympy as sp

from freefim import Network, Spectrum
from freefim.symbolic import closed_form, polynomial

CASES = [("relu", "orthogonal", 2.0, 0.1, 3), ("relu", "gaussian", 2.0, 0.1, 3),
         ("hardtanh", "orthogonal", 1.2, 0.05, 3), ("hardtanh", "gaussian", 1.1, 0.05, 3),
         ("linear", "gaussian", 1.0, 0.1, 3), ("relu", "gaussian", 2.0, 0.1, 2)]

print(f"{'case':38} {'deg':>3} {'derive s':>9} {'1000 pts s':>10} {'solver 1000 s':>13} {'max|dG|/|G| f64':>15} "
      f"{'vs mp30':>9} {'edges err':>9} {'m3,m4 rel':>9}")
for case in CASES:
    net = Network(*case)
    polynomial.cache_clear()
    t0 = time.perf_counter()
    cf = closed_form(net)
    _ = cf.polynomial, cf.roots, cf._root_functions, cf._p_functions, cf._numeric_chain
    t_derive = time.perf_counter() - t0
    spec = Spectrum(net)
    (a, b), = spec.support()
    x = a + (b - a) * (np.arange(1000) + 0.5) / 1000
    t0 = time.perf_counter()
    dens = cf.density(x)
    t_eval = time.perf_counter() - t0
    t0 = time.perf_counter()
    g_num = spec.stieltjes(x)
    t_solver = time.perf_counter() - t0
    err = np.max(np.abs(cf.stieltjes(x) - g_num) / np.abs(g_num))
    x50 = a + (b - a) * (np.arange(50) + 0.5) / 50
    g_mp = Spectrum(net, dps=30).stieltjes(x50)
    err_mp = max(float(abs(complex(u) - v) / abs(v)) for u, v in zip(cf.stieltjes(x50), g_mp))
    edge_err = max(abs(e - s) / abs(s) for e, s in zip(cf.edges(), (a, b)))
    vals = cf._values(30)
    m = [float(sp.sympify(v).subs(vals)) for v in cf.moments(4, substitute=True)]
    mom_err = max(abs(m[2] / spec.numeric_moment(3) - 1), abs(m[3] / spec.numeric_moment(4) - 1))
    print(f"{'/'.join(map(str, case)):38} {cf.degree:3d} {t_derive:9.3f} {t_eval:10.4f} {t_solver:13.4f} "
          f"{err:15.2e} {err_mp:9.2e} {edge_err:9.1e} {mom_err:9.1e}")
