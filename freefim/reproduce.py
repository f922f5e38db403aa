r"""One-step reproduction of the source papers' claims: figures, a JSON table and a Markdown report.

Each claim is a function returning a :class:`Claim`: the paper and its statement, the numbers freefim
measured (theory and Monte Carlo), whether they bear the statement out (the criterion is stated in
``criterion``), and the figure it drew.  :func:`reproduce` runs them all and writes ``report.json``,
``report.md`` and one PNG per claim (when matplotlib is installed) into a folder.

* Hayase & Karakida (AISTATS 2021): near dynamical isometry the conditional FIM's spectrum concentrates
  near its largest eigenvalue and its peak grows linearly with depth; the two-hidden-layer closed form; the
  critical learning rate of SGD falls like ``1/L`` and sits near ``2/lambda_edge``.
* Karakida, Akaho & Amari (AISTATS 2019): the mean-field statistics ``m``, ``s``, ``lambda_max`` against
  Monte Carlo over widths (their Fig. 1), and the critical learning rate ``eta_c = 2/lambda_max`` (Fig. 2).

``quick=True`` uses small sizes (well under two minutes in all); the full run uses the papers' sizes where
they fit a laptop.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from .jsonable import to_json

__all__ = ["Claim", "Report", "reproduce", "CLAIMS"]

HAYASE = "Hayase & Karakida, AISTATS 2021"
KARAKIDA = "Karakida, Akaho & Amari, AISTATS 2019"


@dataclass
class Claim:
    """One claim of a paper and what freefim measured for it."""

    id: str
    paper: str
    statement: str
    criterion: str
    measured: dict
    holds: bool
    figure: str | None = None
    seconds: float = 0.0


@dataclass
class Report:
    """All claims, where the report was written, and the sizes used."""

    claims: list
    out: str
    quick: bool
    seed: int
    files: list = field(default_factory=list)

    def as_dict(self):
        return {"quick": self.quick, "seed": self.seed, "out": self.out, "files": self.files,
                "claims": [asdict(c) for c in self.claims]}

    def markdown(self):
        lines = [f"# freefim reproduction report ({'quick' if self.quick else 'full'} sizes, seed {self.seed})", "",
                 "| claim | paper | statement | measured | criterion | holds |", "|---|---|---|---|---|---|"]
        for c in self.claims:
            measured = ", ".join(f"{k} = {_fmt(v)}" for k, v in c.measured.items() if not isinstance(v, (list, dict)))
            lines.append(f"| {c.id} | {c.paper} | {c.statement} | {measured} | {c.criterion} | "
                         f"{'yes' if c.holds else '**no**'} |")
        lines += ["", "Figures: " + (", ".join(f"`{c.figure}`" for c in self.claims if c.figure) or "none "
                                     "(matplotlib is not installed)")]
        return "\n".join(lines) + "\n"


def _fmt(v):
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}"
    return str(v)


class _Figures:
    """Figures without pyplot (``matplotlib.figure.Figure``: no global backend or figure state is touched, so
    running the report inside a notebook leaves the user's plotting alone)."""

    def __init__(self, Figure):
        self.Figure = Figure

    def subplots(self, nrows=1, ncols=1, figsize=None):
        fig = self.Figure(figsize=figsize)
        return fig, fig.subplots(nrows, ncols)


def _plt():
    """A :class:`_Figures` factory, or ``None`` without matplotlib (the report is then written without figures)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return _Figures(Figure)


def _save(fig, out, name):
    fig.savefig(os.path.join(out, name), dpi=110, bbox_inches="tight")
    return name


# ---------------------------------------------------------------------- Hayase & Karakida 2021
def claim_peak_linear_in_depth(out, quick, seed):
    """The peak of the conditional FIM's spectrum grows linearly with depth near dynamical isometry."""
    from .montecarlo import depth_sweep
    from .network import Network
    from .training import DEFAULT_NETWORK

    net = Network(depth=2, **DEFAULT_NETWORK)
    depths, width, trials = ([2, 4, 8], 120, 1) if quick else ([2, 4, 8, 16, 32], 600, 2)
    sweep = depth_sweep(net, depths, width, trials, seed, progress=False)
    fits, rows = sweep["fits"], sweep["rows"]
    th, mc = fits["theory_peak"], fits["sample_peak"]
    deepest = rows[-1]
    measured = {"theory_slope": th["slope"], "theory_r2": th["r2"], "monte_carlo_slope": mc["slope"],
                "monte_carlo_r2": mc["r2"], "slope_rel_diff": abs(mc["slope"] - th["slope"]) / abs(th["slope"]),
                "peak_over_edge_at_deepest": deepest["theory_peak"] / deepest["theory_edge"], "width": width,
                "depths": depths}
    tol = 0.25 if quick else 0.1
    holds = th["r2"] > 0.99 and mc["r2"] > 0.95 and measured["slope_rel_diff"] < tol and th["slope"] > 0
    figure = None
    plt = _plt()
    if plt:
        fig, ax = plt.subplots(figsize=(5, 3.6))
        d = np.array(depths)
        ax.plot(d, [r["theory_peak"] for r in rows], "o-", label="theory: peak")
        ax.plot(d, [r["theory_edge"] for r in rows], "s--", label="theory: largest eigenvalue")
        ax.errorbar(d, [r["sample_peak"] for r in rows], yerr=[r["sample_peak_std"] for r in rows], fmt="kx",
                    label=f"Monte Carlo peak (M={width})")
        ax.plot(d, th["slope"] * d + th["intercept"], ":", color="C0", label=f"fit: slope {th['slope']:.3g}")
        ax.set(xlabel="depth L", ylabel="eigenvalue", title="peak of the FIM spectrum vs depth")
        ax.legend(fontsize=7)
        figure = _save(fig, out, "peak_vs_depth.png")
    return Claim("peak-linear-in-depth", HAYASE, "Near dynamical isometry the FIM spectrum concentrates near its "
                 "largest eigenvalue and its peak grows linearly with depth (hard-tanh, sigma_w2 = 1.01, "
                 "sigma_b2 = 1e-3, q0 = 0.1448)",
                 f"linear fit R^2 > 0.99 (theory), > 0.95 (Monte Carlo); Monte Carlo slope within {tol:.0%} of theory",
                 measured, bool(holds), figure)


def claim_closed_form(out, quick, seed):
    """The two-hidden-layer closed form agrees with the numeric solver and with sampled networks."""
    from .montecarlo import compare
    from .network import Network
    from .numeric import Spectrum
    from .symbolic import closed_form

    net = Network("relu", "orthogonal", 2.0, 0.1, depth=3)
    form, spec = closed_form(net), Spectrum(net)
    lo, hi = spec.support()[0][0], spec.support()[-1][1]
    x = np.linspace(lo, hi, 41)[1:-1]
    exact, numeric = form.density(x), spec.density(x)
    rel = float(np.max(np.abs(exact - numeric)) / np.max(numeric))
    width, trials = (300, 2) if quick else (1500, 4)
    cmp = compare(net, width, trials, seed, progress=False)
    measured = {"closed_form_vs_solver_max_rel": rel, "ks_own_law": cmp.ks_per_network, "ks_limit_law": cmp.ks,
                "width": width, "trials": trials, "degree_in_G": form.degree}
    ks_tol = 0.03 if quick else 0.015
    holds = rel < 1e-10 and cmp.ks_per_network < ks_tol
    figure = None
    plt = _plt()
    if plt:
        fig, ax = plt.subplots(figsize=(5, 3.6))
        eig = cmp.sample.eigenvalues.ravel()
        ax.hist(eig[eig > lo * 0.5], bins=60, density=True, color="0.7", label=f"Monte Carlo (M={width})")
        xx = np.linspace(lo, hi, 300)[1:-1]
        mass = 1 - sum(a.mass for a in spec.atoms)  # the histogram is of the continuous part alone
        ax.plot(xx, form.density(xx) / mass, "C3", label="closed form (two hidden layers)")
        ax.set(xlabel="eigenvalue", title="relu/orthogonal (2, 0.1), L = 3")
        ax.legend(fontsize=7)
        figure = _save(fig, out, "closed_form_vs_histogram.png")
    return Claim("closed-form-two-hidden-layers", HAYASE, "For two hidden layers the Stieltjes transform solves a "
                 "polynomial equation and the density has a closed form that matches sampled networks",
                 f"closed form = numeric solver to 1e-10 (relative); KS distance of the sampled spectra to each "
                 f"network's own law < {ks_tol} (to the limit law the O(M^-1/2) spread of each network's q_l adds ~0.1)",
                 measured, bool(holds), figure)


def claim_learning_rate(out, quick, seed):
    """The critical learning rate of online SGD falls like 1/L and is close to 2/lambda_edge."""
    from .network import Network
    from .training import DEFAULT_NETWORK, lr_sweep

    net = Network(depth=2, **DEFAULT_NETWORK)
    depths, width, steps = ((2, 4), 24, 30) if quick else ((2, 4, 8, 16), 64, 100)
    sweep = lr_sweep(net, depths, width, steps, seed=seed, progress=False)
    ratio = np.asarray(sweep.ratio, dtype=float)
    measured = {"lr_times_depth_spread": sweep.spread, "ratio_to_2_over_lambda_min": float(np.nanmin(ratio)),
                "ratio_to_2_over_lambda_max": float(np.nanmax(ratio)), "width": width, "depths": list(depths)}
    tol = 2.0 if quick else 1.5
    holds = sweep.spread < tol and 0.5 < np.nanmin(ratio) and np.nanmax(ratio) < 2.0
    figure = None
    plt = _plt()
    if plt:
        from .plotting import plot_lr_sweep

        fig, ax = plt.subplots(figsize=(5, 3.8))
        plot_lr_sweep(sweep, ax=ax)
        figure = _save(fig, out, "learning_rate_vs_depth.png")
    return Claim("learning-rate-one-over-depth", HAYASE, "The largest learning rate that trains falls like 1/L and "
                 "is predicted by 2/lambda_edge of the FIM spectrum",
                 f"max/min of (critical lr x L) < {tol}; critical lr / (2/lambda_edge) in (0.5, 2)",
                 measured, bool(holds), figure)


# ---------------------------------------------------------------------- Karakida, Akaho & Amari 2019
SETTINGS_2019 = [("tanh", 3.0, 0.64), ("relu", 2.0, 0.1), ("linear", 1.0, 0.1)]

#: the finite-width error of the statistics is about FINITE_WIDTH / sqrt(M) (relative; measured by
#: benchmarks/fim_family_mc.py: 0.8-2.5 / sqrt(M) for m, s, lambda_max at M = 250..2000)
FINITE_WIDTH = 2.5


def claim_statistics_vs_width(out, quick, seed):
    """m, s and lambda_max of Monte Carlo approach the mean-field values as the width grows (their Fig. 1)."""
    from .network import Network
    from .statistics import fim_statistics, sample_statistics

    widths, trials, T = ([100, 300], 6, 20) if quick else ([250, 500, 1000, 2000], 12, 100)
    measured, results = {}, {}
    worst, holds = 0.0, True
    for act, sw2, sb2 in SETTINGS_2019:
        net = Network(act, "gaussian", sw2, sb2, depth=3)
        results[act] = [(fim_statistics(net, M, 1, T), sample_statistics(net, M, 1, T, trials, seed=[seed, M],
                                                                         progress=False)) for M in widths]
        th, mc = results[act][-1]
        for stat, (mean, se) in mc.summary().items():
            value = getattr(th, stat)
            err = abs(mean - value) / value
            measured[f"{act}_{stat}_rel_error"] = err
            worst = max(worst, err)
            holds &= abs(mean - value) < 4 * se + FINITE_WIDTH * value / math.sqrt(widths[-1])
    measured.update(worst_rel_error=worst, widths=widths, samples=T)
    figure = None
    plt = _plt()
    if plt:
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.3))
        w = np.array(widths)
        for ax, stat in zip(axes, ("m", "s", "lambda_max")):
            for i, (act, res) in enumerate(results.items()):
                ax.plot(w, [getattr(th, stat) for th, _ in res], "-", color=f"C{i}", label=f"{act}: theory")
                ax.errorbar(w, [mc.summary()[stat][0] for _, mc in res], [mc.summary()[stat][1] for _, mc in res],
                            fmt="o", color=f"C{i}", ms=3)
            ax.set(xscale="log", yscale="log", xlabel="width M", title=stat)
        axes[0].legend(fontsize=7)
        figure = _save(fig, out, "statistics_vs_width.png")
    return Claim("fim-statistics-vs-width", KARAKIDA, "The mean m = kappa_1/M, second moment s and largest eigenvalue "
                 "lambda_max = alpha((T-1)/T kappa_2 + kappa_1/T) M of the FIM follow from mean-field order parameters "
                 "(tanh, ReLU, linear; L = 3, C = 1)",
                 f"Monte Carlo within 4 standard errors + {FINITE_WIDTH:g}/sqrt(M) (the finite-width error, "
                 "benchmarks/fim_family_mc.py) of theory at the largest width M, for every statistic and network",
                 measured, bool(holds), figure)


def claim_critical_learning_rate(out, quick, seed):
    """eta_c = 2/lambda_max separates convergent from divergent gradient descent (their Fig. 2)."""
    from .network import Network
    from .statistics import dual_fim, fim_statistics

    # lambda_max is an outlier, and 2/lambda_max its stability limit, while the T x T bulk of relative width
    # ~2 sqrt(T/M) stays below it: T << M (the quick sizes keep sigma_w2 <= 2, where kappa_2/kappa_1 is largest)
    sw2s = np.array([0.5, 1.0, 1.5, 2.0] if quick else [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0])
    width, T, trials = (300, 10, 3) if quick else (1000, 100, 4)
    rng = np.random.default_rng(seed)
    theory, measured_eta, se = [], [], []
    for sw2 in sw2s:
        net = Network("tanh", "gaussian", float(sw2), 0.1, depth=3)
        theory.append(fim_statistics(net, width, 1, T).eta_c)
        lam = np.array([np.linalg.eigvalsh(dual_fim(net, width, 1, T, rng)[0])[-1] for _ in range(trials)])
        measured_eta.append(2 / lam.mean())
        se.append(2 / lam.mean() * lam.std(ddof=1) / lam.mean() / math.sqrt(trials))
    theory, measured_eta = np.array(theory), np.array(measured_eta)
    rel = np.abs(measured_eta - theory) / theory
    holds = np.all(np.abs(measured_eta - theory) < 4 * np.array(se) + FINITE_WIDTH * theory / math.sqrt(width))
    measured = {"worst_rel_diff": float(rel.max()), "sigma_w2": sw2s.tolist(), "eta_c_theory": theory.tolist(),
                "eta_c_sampled": measured_eta.tolist(), "width": width, "samples": T}
    figure = None
    plt = _plt()
    if plt:
        fig, ax = plt.subplots(figsize=(5, 3.6))
        ax.plot(sw2s, theory, "C3-", label=r"theory $\eta_c = 2/\lambda_{max}$")
        ax.plot(sw2s, measured_eta, "ko", label=f"2 / sampled lambda_max (M={width})")
        ax.fill_between(sw2s, theory, theory.max() * 2, color="C3", alpha=0.1, label="gradient descent diverges")
        ax.set(xlabel=r"$\sigma_w^2$", ylabel="learning rate", yscale="log", title="tanh, sigma_b2 = 0.1, L = 3")
        ax.legend(fontsize=7)
        figure = _save(fig, out, "critical_learning_rate.png")
    return Claim("critical-learning-rate", KARAKIDA, "Gradient descent on the squared loss of T samples diverges above "
                 "eta_c = 2/lambda_max (the stability limit of its quadratic approximation, whose Hessian is the FIM)",
                 f"2/lambda_max of sampled FIMs within 4 standard errors + {FINITE_WIDTH:g}/sqrt(M) of the mean-field "
                 "eta_c for every sigma_w2", measured, bool(holds), figure)


#: the claims :func:`reproduce` runs, in order: functions ``(out, quick, seed) -> Claim``
CLAIMS = (claim_peak_linear_in_depth, claim_closed_form, claim_learning_rate, claim_statistics_vs_width,
          claim_critical_learning_rate)


def reproduce(out="freefim-report", quick=False, seed=0, progress=None):
    """Run every claim of :data:`CLAIMS`; write ``report.json``, ``report.md`` and the figures into ``out``.

    Returns the :class:`Report`.  ``quick`` uses small sizes; ``seed`` seeds every random draw.
    """
    from .progress import Progress

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"out must be a folder, got the file {out!r}")
    os.makedirs(out, exist_ok=True)
    claims = []
    with Progress(len(CLAIMS), "reproduce", enabled=progress) as bar:
        for run in CLAIMS:
            start = time.perf_counter()
            claim = run(out, quick, int(seed))
            claim.seconds = time.perf_counter() - start
            claims.append(claim)
            bar.update()
    report = Report(claims, os.path.abspath(out), bool(quick), int(seed))
    report.files = sorted([c.figure for c in claims if c.figure] + ["report.json", "report.md"])
    with open(os.path.join(out, "report.json"), "w") as fh:
        json.dump(to_json(report.as_dict()), fh, indent=1)
    with open(os.path.join(out, "report.md"), "w") as fh:
        fh.write(report.markdown())
    return report
