"""Calibration of an emulated BrainScaleS-2 chip: fits per-neuron and
per-quadrant configuration that cancels the chip's fixed-pattern noise,
measuring only through the chip's readout (as calix does on the real system).

    import calibration
    result = calibration.calibrate(chip_seed=0)          # Targets() by default
    calibration.save(result, "chip0.cal")
    result = calibration.load("chip0.cal", chip_seed=0)
    result = calibration.cached(0)                        # calibrate once, reuse
    result.apply(chip.config)
"""
from .calibrate import calibrate
from .result import (CalibrationFileError, CalibrationResult, cache_dir, cache_path, load,
                     save)
from .targets import InfeasibleTargetError, Targets


def cached(chip_seed=0, targets=None, progress=False, coba=False, correlation=False,
           adex=False, targets_digest=None):
    """The calibration of `chip_seed` for `targets` (and the optional parts)
    from the user's cache directory, calibrating (and caching) it first if
    needed; `targets_digest`: the targets' digest(), where the caller has it."""
    targets = targets or Targets()
    digest = targets.digest() if targets_digest is None else targets_digest
    path = cache_path(chip_seed, targets, coba=coba, correlation=correlation, adex=adex,
                      targets_digest=digest)
    if path.exists():
        try:
            return load(path, chip_seed=chip_seed, targets=targets, targets_digest=digest)
        except CalibrationFileError:
            pass            # stale or damaged cache entry: recalibrate below
    result = calibrate(chip_seed, targets, progress=progress, coba=coba, correlation=correlation,
                       adex=adex)
    save(result, path)
    return result


__all__ = ["calibrate", "cached", "save", "load", "Targets", "CalibrationResult",
           "CalibrationFileError", "InfeasibleTargetError", "cache_dir", "cache_path"]
