"""Figures (matplotlib is an optional dependency, imported inside each function)."""
from __future__ import annotations

import numpy as np

__all__ = ["plot_statistics_vs_width", "plot_lr_sweep"]


def plot_statistics_vs_width(results, title=None):
    r"""Theory vs Monte Carlo for :math:`m_\lambda, s_\lambda, \lambda_{max}` over growing width.

    ``results``: list of ``(FIMStatistics, MonteCarloStatistics)`` pairs (one per width),
    as returned by :func:`freefim.statistics.fim_statistics` and
    :func:`freefim.statistics.sample_statistics`.  Returns the figure
    (Karakida, Akaho & Amari 2019, Fig. 1).
    """
    import matplotlib.pyplot as plt

    results = sorted(results, key=lambda r: r[0].width)
    widths = np.array([th.width for th, _ in results])
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    for ax, name, label in zip(axes, ("m", "s", "lambda_max"), (r"mean $m_\lambda$", r"second moment $s_\lambda$",
                                                                r"$\lambda_{max}$")):
        theory = np.array([getattr(th, name) for th, _ in results])
        mean = np.array([mc.summary()[name][0] for _, mc in results])
        err = np.array([mc.summary()[name][1] for _, mc in results])
        ax.plot(widths, theory, "-", color="C0", label="mean-field theory")
        ax.errorbar(widths, mean, yerr=err, fmt="o", color="k", ms=4, capsize=3, label="Monte Carlo")
        ax.set_xscale("log")
        if name != "s":
            ax.set_yscale("log")
        ax.set_xlabel("width M")
        ax.set_title(label)
    axes[0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_lr_sweep(sweep, ax=None):
    r"""Critical learning rate of online SGD vs depth with :math:`2/\lambda_{edge}` (Hayase & Karakida 2021).

    Each depth shows the largest grid learning rate that trained and, as a bar, the
    interval up to the first one that failed; lines: :math:`2/\lambda_{edge}` and the
    mean-square limit :math:`2m_1/m_2`.  ``sweep`` is an :class:`freefim.training.LRSweep`.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.8))
    depths = np.asarray(sweep.depths)
    crit, failed = sweep.critical_lr, sweep.failed_lr
    ax.errorbar(depths, crit, yerr=[np.zeros_like(crit), np.where(np.isfinite(failed), failed - crit, 0)],
                fmt="o", color="k", capsize=3, label="largest lr that trains")
    ax.plot(depths, sweep.theory_lr, "-", color="C3", label=r"$2/\lambda_{edge}$ (FIM spectrum)")
    ax.plot(depths, sweep.mean_square_lr, "--", color="C0", label=r"$2 m_1/m_2$")
    ref = np.nanmedian(crit * depths)
    ax.plot(depths, ref / depths, ":", color="gray", label=r"$\propto 1/L$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("depth L")
    ax.set_ylabel("learning rate")
    ax.legend(fontsize=8)
    return ax.figure
