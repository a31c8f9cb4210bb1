"""CADC calibration: ramp offset and slope per quadrant, then per-channel offsets.

The reference is the correlation sensors' reset voltage (`correlation_v_res_meas`,
one CapMem cell per quadrant), which every CADC channel can read.  The ramp is
set so that each quadrant's median channel reads a low and a high reference at
the codes of the CADC's design transfer curve; the channel offsets then pull
every channel onto that curve at a middle reference.
"""
import numpy as np

from cython_core import constants as C
from cython_core import mismatch as M
from cython_core.readout import cadc_design_code

from .. import measure
from .base import Step

LOW_REFERENCE, MID_REFERENCE, HIGH_REFERENCE = 400, 620, 1000   # CapMem of v_res_meas
CHANNEL_QUADRANT = (np.arange(C.NUM_HEMISPHERES)[:, None, None] * 2
                    + np.arange(C.COLUMNS_PER_HEMISPHERE)[None, None, :] // C.NEURONS_PER_QUADRANT
                    + np.zeros((1, 2, 1), int))                  # [hemisphere, branch, column]


def design_code(capmem):
    """CADC code of a v_res_meas CapMem value on the design transfer curves:
    0.15..1.05 V -> 20..220 LSB."""
    return cadc_design_code(M.POTENTIAL_OFFSET_MV + M.POTENTIAL_SLOPE_MV * capmem)


def quadrant_medians(reads):
    return np.array([np.median(reads[CHANNEL_QUADRANT == q]) for q in range(C.NUM_QUADRANTS)])


class _RampStep(Step):
    instances = C.NUM_QUADRANTS
    reference = None
    field = None

    def prepare(self):
        self.chip.config.quadrants.correlation_v_res_meas = self.reference

    def configure(self, settings):
        self.chip.config.quadrants.set(self.field, np.asarray(settings, np.int64))

    def measure(self):
        return quadrant_medians(measure.correlation_reset_reads(self.chip, reads=4))

    def target(self):
        return design_code(self.reference)


class CadcRampOffset(_RampStep):
    """A higher ramp start lowers every code."""
    name = "CADC ramp offset"
    unit = "LSB"
    field = "cadc_v_ramp_offset"
    reference = LOW_REFERENCE
    inverted = True


class CadcRampSlope(_RampStep):
    """A larger slope bias raises the codes of high voltages."""
    name = "CADC ramp slope"
    unit = "LSB"
    field = "cadc_i_ramp_slope"
    reference = HIGH_REFERENCE


def calibrate_channel_offsets(chip, rounds=2):
    """Digital per-channel offsets that put every channel on the design curve at
    the middle reference.  Returns the residual deviation per channel (LSB)."""
    operating = chip.config.quadrants.correlation_v_res_meas.copy()
    chip.config.quadrants.correlation_v_res_meas = MID_REFERENCE
    target = design_code(MID_REFERENCE)
    offsets = chip.config.cadc_channel_offsets
    for _ in range(rounds):
        reads = measure.correlation_reset_reads(chip, reads=16)
        offsets[...] = np.clip(offsets + np.rint(target - reads),
                               C.CADC_CHANNEL_OFFSET_MIN, C.CADC_CHANNEL_OFFSET_MAX)
    residual = measure.correlation_reset_reads(chip, reads=16) - target
    chip.config.quadrants.correlation_v_res_meas = operating
    return residual
