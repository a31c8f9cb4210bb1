"""The real system's calibration helpers (`pynn.helper`), for emulated chips.

On the real system `chip_from_nightly()` fetches the nightly calibration of the
allocated setup, which scripts hand to `setup(initial_config=...)`.  Here the
nightly calibration of emulated chip N is its calibration to calix's default
targets, made once and cached (`calibration.cached(N)`); the chip is an
argument (default 0, as `setup()`'s), where the real system reads it from the
allocation.  Files are this emulator's calibration files: the real system's
coco dumps describe a real chip and cannot be read.
"""
from pathlib import Path

import calibration


def get_unique_identifier(chip=0):
    """The emulated chip's name, as the real setups' identifiers name theirs."""
    return f"emulated-chip-{int(chip)}"


def nightly_calib_path(chip=0):
    """Where the nightly calibration of emulated chip `chip` is cached."""
    return Path(calibration.cache_path(int(chip), calibration.Targets()))


def chip_from_nightly(chip=0):
    """The nightly calibration of emulated chip `chip` (calibrated on first use,
    ~1 s, then read from the cache): a CalibrationResult for setup(initial_config=...)."""
    return calibration.cached(int(chip))


def chip_from_file(path):
    """A calibration saved by this emulator (`calibration.save`, `python -m
    calibration --output`); CalibrationFileError names what is wrong otherwise."""
    return calibration.load(path)


def chip_from_portable_binary(data):
    raise NotImplementedError(
        "chip_from_portable_binary: the real system's coco dumps describe a real chip's "
        "configuration; use chip_from_nightly() or chip_from_file() with a calibration of "
        "the emulated chip")
