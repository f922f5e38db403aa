"""``freefim natgrad``: SGD vs the unit-wise natural gradient of :mod:`freefim.natgrad`."""
from __future__ import annotations

from . import (UsageError, add_command, add_option, add_plot_argument, add_seed_argument, integer, network_from_args,
               number, progress_bar)


def _natgrad_command(args):
    from ..natgrad import train_natgrad

    net = network_from_args(args)
    if net.widths is not None:
        raise UsageError(f"natgrad trains networks of one width; --widths {' '.join(f'{w:g}' for w in net.widths)} "
                         "is not supported")
    if args.width < 3:
        raise UsageError(f"--width must be >= 3 (a structured block needs 3 incoming weights), got {args.width}")
    if args.steps < 1:
        raise UsageError(f"--steps must be >= 1, got {args.steps}")
    if args.batch < 1:
        raise UsageError(f"--batch must be >= 1, got {args.batch}")
    for option, value in (("--lr-sgd", args.lr_sgd), ("--lr-ng", args.lr_ng)):
        if value <= 0:
            raise UsageError(f"{option} must be > 0, got {value:g}")
    if args.damping < 0:
        raise UsageError(f"--damping must be >= 0, got {args.damping:g}")
    run = train_natgrad(net, args.width, args.steps, args.batch, args.lr_sgd, args.lr_ng, args.damping,
                        seed=args.seed, progress=progress_bar(args))
    if args.plot:
        from ..plotting import plot_natgrad

        plot_natgrad(run, args.plot)
    out = run.as_dict()
    lines = [f"freefim natgrad: {net.activation.name}/{net.weights}, sigma_w2={net.sigma_w2:g}, "
             f"sigma_b2={net.sigma_b2:g}, q0={net.q0:g}, L={net.depth}, M={args.width}, batch {args.batch}, "
             f"seed {args.seed}",
             f"learning rates: SGD {args.lr_sgd:g}, natural gradient {args.lr_ng:g} (damping {args.damping:g})",
             f"{'step':>8} {'SGD loss':>12} {'natgrad loss':>13}"]
    for step, a, b in zip(out["checkpoints"], out["sgd_loss_at"], out["ng_loss_at"]):
        lines.append(f"{step:8d} {a:12.5g} {b:13.5g}")
    reached = run.ng_steps_to_reference
    lines.append(f"SGD loss at step {run.reference_step}: {run.sgd_reference_loss:.5g}; natural gradient reaches it "
                 + (f"at step {reached} ({run.reference_step / reached:.1f}x fewer steps)" if reached
                    else "never within the run"))
    if args.plot:
        lines.append(f"plot written to {args.plot}")
    return out, "\n".join(lines)


def add_commands(subparsers):
    """Register ``freefim natgrad``."""
    p = add_command(subparsers, "natgrad", "teacher-student training: SGD vs the unit-wise natural gradient",
                    "freefim natgrad --width 16 --steps 30 --json", _natgrad_command)
    add_option(p, "--width", integer, 100, "width M of every layer (default %(default)s)")
    add_option(p, "--steps", integer, 1000, "training steps (default %(default)s)")
    add_option(p, "--batch", integer, 32, "fresh inputs per step (default %(default)s)")
    add_option(p, "--lr-sgd", number, 2.5, "SGD learning rate (default %(default)s)")
    add_option(p, "--lr-ng", number, 0.03, "natural-gradient learning rate (default %(default)s)")
    add_option(p, "--damping", number, 0.1, "damping, relative to the layer's mean block scale a "
               "(default %(default)s)")
    add_seed_argument(p)
    add_plot_argument(p, "save the loss-vs-steps figure here", metavar="FILE")
