"""Theory vs Monte Carlo for the FIM statistics m, s, lambda_max (Karakida, Akaho & Amari 2019, Fig. 1).

Settings of their Fig. 1: tanh (3, 0.64), ReLU (2, 0.1), linear (1, 0.1); Gaussian weights,
L = 3, C = 1, T = 100.  Prints, for each width M, the Monte Carlo mean +- standard error over
``--trials`` networks, the mean-field value, the relative error |MC - theory| / theory and
the relative standard error (the part of the error that is sampling noise).

    python benchmarks/statistics_mc.py [--widths 250 500 1000 2000] [--trials 40] [--seed 0]
"""
import argparse
import time

import numpy as np

from freefim import Network
from freefim.statistics import fim_statistics, sample_statistics


SETTINGS = [("tanh", 3.0, 0.64), ("relu", 2.0, 0.1), ("linear", 1.0, 0.1)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[250, 500, 1000, 2000])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"L={args.depth}, C=1, T={args.samples}, gaussian weights, {args.trials} trials per width, seed {args.seed}")
    print(f"{'setting':<22}{'M':>6}  {'stat':<11}{'MC mean':>13}{'+-se':>11}{'theory':>13}{'rel.err':>10}{'rel.se':>9}")
    errors = {}
    for name, sw2, sb2 in SETTINGS:
        act = name
        net = Network(act, "gaussian", sw2, sb2, args.depth)
        label = f"{name} ({sw2:g}, {sb2:g})"
        for width in args.widths:
            start = time.perf_counter()
            theory = fim_statistics(net, width, outputs=1, samples=args.samples)
            mc = sample_statistics(net, width, 1, args.samples, args.trials,
                                   seed=np.random.default_rng([args.seed, width]))
            for stat, (mean, se) in mc.summary().items():
                th = getattr(theory, stat)
                errors.setdefault(stat, {}).setdefault(width, []).append(abs(mean - th) / th)
                print(f"{label:<22}{width:>6}  {stat:<11}{mean:13.6g}{se:11.2g}{th:13.6g}{abs(mean - th) / th:10.2%}{se / th:9.2%}")
            print(f"{'':<22}{'':>6}  ({time.perf_counter() - start:.1f} s)")
    print("mean relative error over the three settings:")
    for stat, by_width in errors.items():
        print(f"  {stat:<11}" + "".join(f"  M={w}: {np.mean(e):6.2%}" for w, e in by_width.items()))


if __name__ == "__main__":
    main()
