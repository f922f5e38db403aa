"""Time Spectrum.peak() against Spectrum.density on 1,000 points (issue 20: peak no slower).

Each timing builds a fresh ``Spectrum`` (mean field and chain included), so the peak pays the
support scan it triggers and the density its own set-up; best of ``--repeat``, the two
timings taking turns.  The last columns time ``peak()`` once ``support()`` is known (what
``freefim density`` pays for it: the command reports the support first).
Run: ``python benchmarks/bench_peak.py``.
"""
import argparse
import time

import numpy as np

from freefim import Network, Spectrum
from freefim.criticality import critical_point


def best_of(fns, repeat):
    """Best time of each of ``fns``, run in turn ``repeat`` times (a load that comes and goes hits all)."""
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, out in zip(fns, times):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return [min(t) for t in times]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cases = [(Network("relu", "orthogonal", 2.0, 0.1, 3), "relu/orthogonal"),
             (Network("hardtanh", "gaussian", 1.1, 0.05, 4), "hardtanh/gaussian"),
             (Network("hardtanh", "orthogonal", 1.1, 0.05, 5), "hardtanh/orthogonal"),
             (Network("relu", "gaussian", 2.0, 0.1, 3), "relu/gaussian"),
             # the order-chaos edge of bench_smooth.py
             (critical_point("tanh", "orthogonal", q_star=0.1).network(10), "tanh/orthogonal")]
    print(f"{'case':<22}{'depth':>6}{'density [ms]':>14}{'peak [ms]':>11}{'ratio':>7}"
          f"{'after support [ms]':>20}{'ratio':>7}  peak")
    for net, name in cases:
        spec = Spectrum(net)
        # points over the bulk of the law: [0, 3 m1], as in bench_density.py
        x = np.linspace(0, 3 * float(spec.moments.m1), args.points)
        Spectrum(net).density(x)  # warm-up: numba's kernels and whatever spectra share (laws)
        t_dens, t_peak = best_of([lambda: Spectrum(net).density(x), lambda: Spectrum(net).peak()], args.repeat)
        t_after = min(_peak_after_support(net) for _ in range(args.repeat))
        peak = Spectrum(net).peak()
        print(f"{name:<22}{net.depth:>6}{t_dens * 1e3:>14.1f}{t_peak * 1e3:>11.1f}{t_peak / t_dens:>7.2f}"
              f"{t_after * 1e3:>20.1f}{t_after / t_dens:>7.2f}  ({peak.location:.6g}, {peak.height:.6g})", flush=True)


def _peak_after_support(net):
    """Time of ``peak()`` on a fresh spectrum whose ``support()`` is already known."""
    spec = Spectrum(net)
    spec.support()
    start = time.perf_counter()
    spec.peak()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
