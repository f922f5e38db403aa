"""``freefim reproduce``: every claim of the source papers as a figure plus one table (:mod:`freefim.reproduce`)."""
from __future__ import annotations

from . import add_command, add_json_argument, add_seed_argument, progress_bar


def _reproduce_command(args):
    from ..reproduce import reproduce

    report = reproduce(args.out, quick=args.quick, seed=args.seed, progress=progress_bar(args))
    lines = [f"freefim reproduce: {'quick' if args.quick else 'full'} sizes, seed {args.seed}, written to {report.out}"]
    for c in report.claims:
        lines.append(f"  [{'holds' if c.holds else 'DOES NOT HOLD'}] {c.id} ({c.paper}, {c.seconds:.0f} s)")
    lines.append("files: " + ", ".join(report.files))
    return report.as_dict(), "\n".join(lines)


def add_commands(subparsers):
    """Register ``freefim reproduce``."""
    p = add_command(subparsers, "reproduce", "regenerate the source papers' claims: figures, report.json, report.md",
                    "freefim reproduce --quick --out report", _reproduce_command, network=False)
    p.add_argument("--out", default="freefim-report", metavar="DIR",
                   help="folder for the figures and the report (created; default %(default)s)")
    p.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    add_json_argument(p)
    add_seed_argument(p)
