"""Calibration results: a versioned file format and a per-chip, per-target cache.

A result holds the calibrated configuration arrays (per neuron, per quadrant,
per CADC channel), the success mask, per-step residuals and metadata (chip
seed, targets, format and software version).  A file (.cal) is a line that
names the format, the length of a JSON header (8 bytes, little-endian), the
header (metadata, and where each array and the targets' JSON lie in the body
with their dtypes and shapes) and the body.  A process's first read of one
takes ~0.3 ms; as a numpy .npz archive (format version 6) it took ~2 ms,
most of it opening the zip archive and parsing the members' headers.
"""
import functools
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cython_core import constants as C
from cython_core import mismatch as M

from .targets import Targets

FORMAT_VERSION = 7
MAGIC = b"pynn-brainscales-emu calibration\n"
SOFTWARE_VERSION = "0.1.0"
# the calibration procedure's revision: part of the cache key, so that a changed
# procedure recalibrates instead of reusing what the old one found
PROCEDURE_REVISION = 9

NEURON_FIELDS = (
    "leak_v_leak", "leak_i_bias", "leak_enable_division", "leak_enable_multiplication",
    "reset_v_reset", "threshold_v_threshold",
    "excitatory_input_i_bias_tau", "inhibitory_input_i_bias_tau",
    "excitatory_input_i_bias_gm", "inhibitory_input_i_bias_gm",
    "excitatory_input_i_shift_reference", "inhibitory_input_i_shift_reference",
    "refractory_period_refractory_time", "refractory_period_input_clock",
    "excitatory_input_enable_coba_mode", "inhibitory_input_enable_coba_mode",
    "excitatory_input_v_rev_coba", "inhibitory_input_v_rev_coba",
    "excitatory_input_i_bias_coba", "inhibitory_input_i_bias_coba",
    "adaptation_enable", "adaptation_i_bias_a", "adaptation_i_bias_b", "adaptation_i_bias_tau",
    "adaptation_invert_a", "adaptation_invert_b", "adaptation_v_ref",
    "exponential_enable", "exponential_v_exp", "exponential_i_bias",
)
QUADRANT_FIELDS = ("synapse_dac_bias", "cadc_v_ramp_offset", "cadc_i_ramp_slope",
                   "correlation_i_bias_amplitude", "correlation_i_bias_tau")


class CalibrationFileError(ValueError):
    """A calibration file that is corrupt or does not belong to the chip/version."""


@dataclass
class CalibrationResult:
    chip_seed: int
    targets: Targets
    neurons: dict                      # field -> int array (512)
    quadrants: dict                    # field -> int array (4)
    cadc_channel_offsets: np.ndarray   # [2, 2, 256]
    refractory_clock_scaler: np.ndarray
    success: np.ndarray                # bool (512): no calibrated parameter on a range bound
    residuals: dict = field(default_factory=dict)   # step name -> {"before": sd, "after": sd}
    # measured / nominal offset current per neuron (the backends divide by it)
    offset_current_gain: np.ndarray = field(default_factory=lambda: np.ones(C.NUM_NEURONS))
    # correlation sensors as measured after their calibration, per branch
    # (causal, acausal) and quadrant: CADC LSB per pair and us (NaN: not calibrated).
    # One bias serves both branches, so they differ by their own mismatch; rules
    # that weigh causal against acausal correlation divide by these.
    correlation_amplitude: np.ndarray = field(
        default_factory=lambda: np.full((2, C.NUM_QUADRANTS), np.nan))
    correlation_tau: np.ndarray = field(
        default_factory=lambda: np.full((2, C.NUM_QUADRANTS), np.nan))
    # the MADC's measured transfer: codes per mV, mV at code 0 (default: the design's)
    madc_transfer: np.ndarray = field(
        default_factory=lambda: np.array([M.MADC_GAIN_CODES_PER_MV, M.MADC_OFFSET_MV]))
    # each neuron's excitatory and inhibitory synaptic line at rest through that
    # transfer (mV, [2, 512]; default: the design's): the zero of recorded
    # conductances
    synin_baseline_mv: np.ndarray = field(
        default_factory=lambda: np.full((2, C.NUM_NEURONS), M.SYNIN_BASELINE_MV))
    created: float = field(default_factory=time.time)
    software_version: str = SOFTWARE_VERSION

    def apply(self, config):
        """Write the calibration into a ChipConfig: calibrated cells, the switches
        a calibrated neuron runs with (threshold comparator and synaptic inputs
        on), the CADC settings."""
        n = config.neurons
        for name, values in self.neurons.items():
            n.set(name, values)
        n.threshold_enable = True
        n.excitatory_input_enable = True
        n.inhibitory_input_enable = True
        for name, values in self.quadrants.items():
            config.quadrants.set(name, values)
        config.cadc_channel_offsets[...] = self.cadc_channel_offsets
        config.refractory_clock_scaler[...] = self.refractory_clock_scaler

    # --- file format ---
    def save(self, path):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        neuron_fields = list(self.neurons)
        quadrant_fields = list(self.quadrants)
        meta = {"format_version": FORMAT_VERSION, "software_version": self.software_version,
                "chip_seed": self.chip_seed, "targets_digest": self.targets.digest().hex(),
                "neuron_fields": neuron_fields, "quadrant_fields": quadrant_fields,
                "residuals": self.residuals, "created": self.created}
        columns = {
            "neurons": np.array([self.neurons[k] for k in neuron_fields], np.int64),
            "quadrants": np.array([self.quadrants[k] for k in quadrant_fields], float),
            "cadc_channel_offsets": np.asarray(self.cadc_channel_offsets, np.int64),
            "refractory_clock_scaler": np.asarray(self.refractory_clock_scaler, np.int64),
            "success": np.asarray(self.success, bool),
            "offset_current_gain": np.asarray(self.offset_current_gain, float),
            "correlation_amplitude": np.asarray(self.correlation_amplitude, float),
            "correlation_tau": np.asarray(self.correlation_tau, float),
            "madc_transfer": np.asarray(self.madc_transfer, float),
            "synin_baseline_mv": np.asarray(self.synin_baseline_mv, float)}
        arrays, blobs, offset = {}, [], 0
        for name, values in columns.items():
            values = np.ascontiguousarray(values)
            arrays[name] = [values.dtype.str, list(values.shape), offset, values.nbytes]
            blobs.append(values.tobytes())
            offset += values.nbytes
        targets = self.targets.to_json().encode()
        meta["arrays"] = arrays
        meta["targets"] = [offset, len(targets)]
        header = json.dumps(meta).encode()
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(MAGIC + len(header).to_bytes(8, "little") + header)
            for blob in blobs + [targets]:
                fh.write(blob)
        os.replace(tmp, path)       # atomic: a reader never sees half a file
        return path


def save(result, path):
    """Save `result` to `path` (.cal)."""
    return result.save(path)


def load(path, chip_seed=None, targets=None, targets_digest=None):
    """Load a calibration file; refuse a corrupt file, another format version, or
    (if `chip_seed` / `targets` are given) a calibration of another chip or of
    other targets.  With `targets` the file's copy of them is not parsed;
    `targets_digest`: their digest(), where the caller has it."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as err:
        raise CalibrationFileError(f"{path}: not a readable calibration file ({err})") from err
    if raw.startswith(b"PK\x03\x04"):
        raise CalibrationFileError(
            f"{path}: calibration format version 6 or older (a .npz archive), this software "
            f"reads version {FORMAT_VERSION}; recalibrate with `python -m calibration`")
    try:
        if not raw.startswith(MAGIC):
            raise ValueError("it does not start with the format's name")
        start = len(MAGIC) + 8
        end = start + int.from_bytes(raw[len(MAGIC):start], "little")
        meta = json.loads(raw[start:end])
        version = meta.get("format_version")
        if version != FORMAT_VERSION:
            raise CalibrationFileError(
                f"{path}: calibration format version {version}, this software reads "
                f"version {FORMAT_VERSION}; recalibrate with `python -m calibration`")
        if targets is not None and targets_digest is None:
            targets_digest = targets.digest()
        if targets is not None and targets_digest.hex() != meta["targets_digest"]:
            raise CalibrationFileError(f"{path}: a calibration for other targets")
        body = memoryview(raw)[end:]

        def array(name):
            dtype, shape, offset, nbytes = meta["arrays"][name]
            if offset + nbytes > len(body):
                raise ValueError(f"array {name} lies beyond the end of the file")
            return np.frombuffer(body[offset:offset + nbytes], np.dtype(dtype)).reshape(
                shape).copy()

        if targets is None:
            offset, nbytes = meta["targets"]
            targets = Targets.from_json(bytes(body[offset:offset + nbytes]).decode())
        result = CalibrationResult(
            chip_seed=int(meta["chip_seed"]), targets=targets,
            neurons=dict(zip(meta["neuron_fields"], array("neurons"))),
            quadrants=dict(zip(meta["quadrant_fields"], array("quadrants"))),
            cadc_channel_offsets=array("cadc_channel_offsets"),
            refractory_clock_scaler=array("refractory_clock_scaler"),
            success=array("success"), residuals=meta.get("residuals", {}),
            offset_current_gain=array("offset_current_gain"),
            correlation_amplitude=array("correlation_amplitude"),
            correlation_tau=array("correlation_tau"),
            madc_transfer=array("madc_transfer"),
            synin_baseline_mv=array("synin_baseline_mv"),
            created=meta.get("created", 0.0),
            software_version=meta.get("software_version", "unknown"))
    except CalibrationFileError:
        raise
    except Exception as err:   # header, JSON, missing keys, sizes: all mean "corrupt"
        raise CalibrationFileError(f"{path}: not a readable calibration file ({err})") from err
    for name in NEURON_FIELDS:
        if name not in result.neurons or result.neurons[name].shape != (C.NUM_NEURONS,):
            raise CalibrationFileError(f"{path}: neuron field {name} missing or malformed")
    if chip_seed is not None and result.chip_seed != chip_seed:
        raise CalibrationFileError(
            f"{path}: calibration of chip {result.chip_seed}, not of chip {chip_seed}")
    return result


def cache_dir():
    """Where calibrations are cached: $XDG_CACHE_HOME (default ~/.cache)."""
    return _cache_dir(os.environ.get("XDG_CACHE_HOME"), os.environ.get("HOME"))


@functools.lru_cache(maxsize=8)
def _cache_dir(xdg_cache_home, home):
    # per environment: the home directory's lookup and the path's assembly took
    # ~0.08 ms of a process's first run
    base = xdg_cache_home or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pynn-brainscales-emu" / "calibration"


def cache_path(chip_seed, targets, coba=False, correlation=False, adex=False,
               targets_digest=None):
    """The cache file of `chip_seed`'s calibration for `targets` (and the
    optional parts); `targets_digest`: their digest(), where the caller has it."""
    digest = targets.digest() if targets_digest is None else targets_digest
    text = (f"{digest.hex()}|coba={bool(coba)}|correlation={bool(correlation)}"
            f"|adex={bool(adex)}")
    key = hashlib.sha256(text.encode()).hexdigest()[:16]
    return (cache_dir()
            / f"chip{chip_seed}-v{FORMAT_VERSION}-r{PROCEDURE_REVISION}-{key}.cal")
