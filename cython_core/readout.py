"""Analog-to-digital readout models: CADC (8 bit, per column) and MADC (10 bit).

Both convert node voltages (mV) to raw codes with the chip's fixed-pattern
offsets and gains plus seeded temporal noise.  Codes saturate at the converter's
range, as on the hardware.
"""
import numpy as np

from . import constants as C
from . import mismatch as M
from ._readout import channel_codes

CAUSAL, ACAUSAL = 0, 1


# the CADC's design transfer line at the default ramp settings (offset 120,
# slope 300): 0.15..1.05 V -> 20..220 LSB.  Calibration targets and reads of
# potentials in LSB refer to it; the CADC calibration puts every chip on it.
CADC_DESIGN_START_MV = M.CADC_RAMP_OFFSET_PER_LSB_MV * 120
CADC_DESIGN_LSB_PER_MV = M.CADC_SLOPE_PER_LSB * 300


def cadc_design_code(mv):
    """CADC code (LSB, unrounded) of a potential (mV) on the design line."""
    return (np.asarray(mv, float) - CADC_DESIGN_START_MV) * CADC_DESIGN_LSB_PER_MV


def cadc_design_mv(code):
    """Potential (mV) of a CADC code (LSB) on the design line."""
    return CADC_DESIGN_START_MV + np.asarray(code, float) / CADC_DESIGN_LSB_PER_MV


def cadc_transfer(config, mismatch):
    """Ramp start (mV) and slope (LSB/mV) per quadrant."""
    q = config.quadrants
    start = M.CADC_RAMP_OFFSET_PER_LSB_MV * q.cadc_v_ramp_offset + mismatch.cadc_ramp_offset
    slope = M.CADC_SLOPE_PER_LSB * q.cadc_i_ramp_slope * mismatch.cadc_slope_gain
    return start, slope


def cadc_channel_transfer(hemisphere, branch, column, config, mismatch):
    """Per channel (hemisphere, branch, column; they broadcast): scale and shift
    of code = voltage * scale + shift, before noise and rounding."""
    hemisphere = np.asarray(hemisphere)
    column = np.asarray(column)
    start, slope = cadc_transfer(config, mismatch)
    quadrant = hemisphere * 2 + column // C.NEURONS_PER_QUADRANT
    scale = slope[quadrant] * mismatch.cadc_channel_gain[hemisphere, branch, column]
    shift = (mismatch.cadc_channel_offset[hemisphere, branch, column]
             + config.cadc_channel_offsets[hemisphere, branch, column] - start[quadrant] * scale)
    return scale, shift


def cadc_codes(voltage, hemisphere, branch, column, config, mismatch, rng, quantise=True,
               reads=1):
    """8-bit CADC codes for node voltages read on channels (hemisphere, branch, column).

    All index arguments broadcast against `voltage`.  `quantise=False` returns
    the converter's value before its last bit (float, still within 0..255).
    `reads` > 1: the mean of that many successive reads (float).  Their noise
    (sd 1.5 LSB) dithers the rounding, so the mean of the floored reads is the
    value - 0.5 plus Gaussian noise of variance (sd^2 + 1/12) / reads: drawn as
    such, at the cost of one read.
    """
    voltage = _real(voltage)
    scale, shift = cadc_channel_transfer(hemisphere, branch, column, config, mismatch)
    shape = np.broadcast_shapes(voltage.shape, np.shape(scale), np.shape(shift))
    if len(shape) == 2 and np.ndim(scale) <= 1 and np.ndim(shift) <= 1:
        # a block of rows over columns: the transfer is per column
        values = np.broadcast_to(voltage, shape)
        scale, shift = (np.broadcast_to(a, shape[1:]) for a in (scale, shift))
    else:
        values = np.broadcast_to(voltage, shape).reshape(1, -1)
        scale, shift = (np.broadcast_to(a, shape).reshape(-1) for a in (scale, shift))
    return _convert(values, scale, shift, mismatch, rng, quantise, reads).reshape(shape)


def cadc_drop_transfer(reset_mv, hemisphere, branch, config, mismatch):
    """Per column of a hemisphere's branch, the line code = drop * gain + offset
    of nodes that sit `drop` (mV) below their column's `reset_mv` (the
    correlation sensors): as cadc_channel_transfer, without forming the
    voltages.  Returns (gain, offset), contiguous float64."""
    column = np.arange(C.COLUMNS_PER_HEMISPHERE)
    scale, shift = cadc_channel_transfer(hemisphere, branch, column, config, mismatch)
    return (np.ascontiguousarray(-scale, np.float64),
            np.ascontiguousarray(reset_mv * scale + shift, np.float64))


def cadc_drop_codes(drop, transfer, mismatch, rng, quantise=True, reads=1):
    """CADC codes of sensor drops [rows, 256 columns] (mV) through a column
    `transfer` of cadc_drop_transfer, with noise, rounding and range as
    cadc_codes."""
    return _convert(drop, *transfer, mismatch, rng, quantise, reads)


def cadc_read_model(mismatch, quantise, reads):
    """How `reads` CADC reads are drawn (see cadc_codes): (shift of the line in
    LSB, sd of its Gaussian noise in LSB, whether the codes are rounded down)."""
    averaged = reads > 1 and quantise and not mismatch.ideal
    if averaged:
        return -0.5, float(np.sqrt((M.CADC_NOISE_LSB ** 2 + 1.0 / 12.0) / reads)), False
    return 0.0, (0.0 if mismatch.ideal else M.CADC_NOISE_LSB), bool(quantise)


def _convert(values, scale, shift, mismatch, rng, quantise, reads):
    """values [rows, columns] * scale + shift per column, with the CADC's noise,
    rounding and range (see cadc_codes)."""
    line_shift, noise_sd, floor = cadc_read_model(mismatch, quantise, reads)
    shift = shift + line_shift
    out = np.empty(values.shape, np.float64)
    channel_codes(values, np.ascontiguousarray(scale, np.float64),
                  np.ascontiguousarray(shift, np.float64), float(noise_sd), noise_key(rng),
                  floor, float(C.CADC_CODE_MAX), out)
    return out.astype(np.uint8) if floor else out


def _real(values):
    """`values` as float32 (kept as they are: the engine's buffers) or float64,
    the two types the compiled converter takes."""
    values = np.asarray(values)
    return values if values.dtype == np.float32 else values.astype(np.float64, copy=False)


def noise_key(rng):
    """A key for the compiled Gaussian generator, drawn from a seeded numpy
    generator: one raw 64-bit word of its bit generator (Generator.integers
    took ~1.5 us a call, 34 calls in a run of the STDP network)."""
    return int(rng.bit_generator.random_raw())


def cadc_membrane_codes(voltage, neurons, config, mismatch, rng):
    """Membrane reads: a neuron is read through the causal channel of its column."""
    hemisphere, column = np.divmod(np.asarray(neurons), C.COLUMNS_PER_HEMISPHERE)
    return cadc_codes(voltage, hemisphere, CAUSAL, column, config, mismatch, rng)


def madc_codes(voltage, mismatch, rng):
    """10-bit MADC codes of node voltages (mV): the converter's line, its
    Gaussian noise (the compiled generator: a trace of 512 neurons at 34 ns
    holds millions of samples, ~10x faster than numpy's) and rounding to the
    nearest code.  Converted in blocks of rows: temporaries of a whole trace
    would be beyond the allocator's reuse, each paid in fresh pages."""
    voltage = _real(voltage)
    table = voltage.reshape(-1, voltage.shape[-1]) if voltage.ndim else voltage.reshape(1, 1)
    gain = M.MADC_GAIN_CODES_PER_MV * mismatch.madc_gain
    rows, columns = table.shape
    scale = np.full(columns, gain)
    # + 0.5 and rounding down: to the nearest code
    shift = np.full(columns, mismatch.madc_offset - M.MADC_OFFSET_MV * gain + 0.5)
    noise_sd = 0.0 if mismatch.ideal else M.MADC_NOISE_CODES
    codes = np.empty(table.shape, np.uint16)
    step = max(1, MADC_BLOCK_VALUES // max(columns, 1))
    buffer = np.empty((min(step, rows), columns), np.float64)
    for start in range(0, rows, step):
        part = buffer[:min(step, rows - start)]
        channel_codes(table[start:start + step], scale, shift, noise_sd, noise_key(rng), True,
                      float(C.MADC_CODE_MAX), part)
        codes[start:start + step] = part
    return codes.reshape(voltage.shape)


# values per block of madc_codes (2 MiB of float64)
MADC_BLOCK_VALUES = 1 << 18
