"""Calibrate an emulated chip from the command line.

    python -m calibration --chip 0 --output chip0.cal
    python -m calibration --chip 3 --leak 80 --reset 80 --threshold 150 \\
        --tau-mem 6 --tau-syn 6 --output chip3.cal --report chip3.png
    python -m calibration --chip 0 --target targets.json --output chip0.cal

Prints a progress bar per step and a closing table: per parameter the spread
over neurons with all neurons at the median setting (before) and calibrated
(after), their ratio against calix's acceptance bound, and failed neurons.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

from .calibrate import calibrate
from .result import save
from .targets import InfeasibleTargetError, Targets
from .verify import compare, format_table, spreads, verify_correlation


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m calibration",
                                description="Calibrate an emulated BrainScaleS-2 chip.")
    p.add_argument("--chip", type=int, default=0, help="chip seed (default 0)")
    p.add_argument("--output", required=True, help="calibration file to write (.cal)")
    p.add_argument("--target", help="JSON file with targets (keys as in calibration.Targets)")
    p.add_argument("--leak", type=float, help="leak potential, CADC LSB (default 80)")
    p.add_argument("--reset", type=float, help="reset potential, CADC LSB (default 70)")
    p.add_argument("--threshold", type=float, help="threshold, CADC LSB (default 125)")
    p.add_argument("--tau-mem", type=float, help="membrane time constant, us (default 10)")
    p.add_argument("--tau-syn", type=float, help="synaptic time constants, us (default 10)")
    p.add_argument("--refractory", type=float, help="refractory period, us (default 2)")
    p.add_argument("--coba", action="store_true",
                   help="conductance-based inputs: calibrate the reversal potentials")
    p.add_argument("--e-rev-exc", type=float, help="COBA excitatory reversal, CADC LSB (150)")
    p.add_argument("--e-rev-inh", type=float, help="COBA inhibitory reversal, CADC LSB (40)")
    p.add_argument("--adex", action="store_true",
                   help="also calibrate adaptation (tau_w, a, b) and the exponential term")
    p.add_argument("--correlation", action="store_true",
                   help="also calibrate the correlation sensors (amplitude, tau per quadrant)")
    p.add_argument("--report", help="save histograms before/after calibration (.png)")
    p.add_argument("--no-verify", action="store_true", help="skip the closing measurement")
    return p.parse_args(argv)


def targets_from(args):
    values = {}
    if args.target:
        values.update(Targets.from_json(Path(args.target).read_text()).__dict__)
    flags = {"leak": args.leak, "reset": args.reset, "threshold": args.threshold,
             "tau_mem": args.tau_mem, "refractory": args.refractory,
             "e_rev_exc": args.e_rev_exc, "e_rev_inh": args.e_rev_inh}
    if args.tau_syn is not None:
        flags["tau_syn_exc"] = flags["tau_syn_inh"] = args.tau_syn
    values.update({k: v for k, v in flags.items() if v is not None})
    return Targets(**values)


def report(comparisons, chip_seed, path):
    """Histograms of each parameter before/after calibration (from verify.compare)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(16, 7))
    for ax, c in zip(axes.ravel(), comparisons):
        finite = np.isfinite(c.before) & np.isfinite(c.after)
        lo, hi = np.percentile(np.concatenate([c.before[finite], c.after[finite]]), [1, 99])
        bins = np.linspace(lo, hi, 40)
        ax.hist(c.before[finite], bins, alpha=0.6, label="median setting / no offsets")
        ax.hist(c.after[finite], bins, alpha=0.6, label="calibrated")
        ax.set_title(c.name)
        ax.set_xlabel(c.unit)
    axes.ravel()[-1].axis("off")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"chip {chip_seed}: before and after calibration")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        targets = targets_from(args)
    except (InfeasibleTargetError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    result = calibrate(args.chip, targets, progress=True, correlation=args.correlation,
                       coba=args.coba, adex=args.adex)
    elapsed = time.perf_counter() - start
    path = save(result, args.output)
    print(f"chip {args.chip} calibrated in {elapsed:.1f} s; "
          f"{int(result.success.sum())}/{len(result.success)} neurons succeeded; saved to {path}")
    if not args.no_verify or args.report:
        comparisons = compare(result)
        if not args.no_verify:
            print(format_table(spreads(result, comparisons)))
            if args.correlation:
                for (branch, what), values in verify_correlation(result).items():
                    target = (result.targets.correlation_amplitude if what == "amplitude"
                              else result.targets.correlation_tau)
                    print(f"correlation {branch:7s} {what:9s} 30/50/70 %: "
                          f"{' '.join(f'{v:6.3f}' for v in values)}  (target {target})")
        if args.report:
            report(comparisons, args.chip, args.report)
            print(f"report saved to {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
