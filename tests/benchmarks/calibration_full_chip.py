"""Full-chip calibration benchmark: wall time of `calibration.calibrate` for all
512 neurons (calix's default targets) on several chips, and the time per step;
`--all` adds the COBA inputs, AdEx and the correlation sensors (what the
performance issue's EIF + STDP network needs).

    python tests/benchmarks/calibration_full_chip.py [--seeds 0 1 2] [--all]
"""
import argparse
import statistics
import time

import calibration


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--all", action="store_true",
                        help="also COBA, AdEx and the correlation sensors")
    args = parser.parse_args()
    options = dict(coba=True, adex=True, correlation=True) if args.all else {}
    walls, per_step = [], {}
    for seed in args.seeds:
        t = time.perf_counter()
        result = calibration.calibrate(seed, progress=False, **options)
        walls.append(time.perf_counter() - t)
        print(f"chip {seed}: {walls[-1]:.2f} s, {int(result.success.sum())}/512 neurons succeeded")
        for name, info in result.residuals.items():
            if "seconds" in info:
                per_step.setdefault(name, []).append(info["seconds"])
    print(f"full-chip calibration{' (COBA, AdEx, sensors)' if args.all else ''}, median over "
          f"{len(walls)} chips: {statistics.median(walls):.2f} s "
          f"(one core; target <= 10 s; calix on the real chip: ~5 min)")
    print("median time per search step:")
    for name, times in per_step.items():
        print(f"  {name:22s} {statistics.median(times):6.3f} s")


if __name__ == "__main__":
    main()
