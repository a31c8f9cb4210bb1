"""MADC transfer: the membrane potentials of all neurons at two operating points,
read through the (calibrated) CADC and through the MADC; one straight line
through the 1024 pairs gives the MADC's gain and offset (one converter per chip,
sd 2 % and 5 codes from the design).  Recorded traces are then converted with
this line instead of the design's, and the calibration's own MADC measurements
(synaptic strengths, adaptation jumps) lose the converter's gain error.
"""
import numpy as np

from cython_core.readout import cadc_design_mv

from .. import measure

# leak potentials (CapMem) of the two operating points: inside the CADC's reliable
# range (30..210 LSB) and the MADC's (0..1023 codes) on any chip
LEAK_POINTS = (450, 950)


def calibrate_madc(chip):
    """Fit and return the MADC transfer (codes per mV, mV at code 0) and the fit's
    residual sd (mV); the chip's configuration is left as it was."""
    saved = chip.config.copy()
    n = chip.config.neurons
    n.threshold_enable = False
    n.excitatory_input_enable = False
    n.inhibitory_input_enable = False
    volts, codes = [], []
    for leak in LEAK_POINTS:
        n.leak_v_leak = leak
        # mean codes on the design line, which the CADC calibration establishes
        # (its flooring included)
        volts.append(cadc_design_mv(measure.cadc_membrane(chip, reads=40)))
        codes.append(measure.madc_mean_codes(chip, "v"))
    chip.config = saved
    volts, codes = np.concatenate(volts), np.concatenate(codes)
    slope, intercept = np.polyfit(volts, codes, 1)
    residual = codes - (slope * volts + intercept)
    return (slope, -intercept / slope), float(np.std(residual) / slope)


def synin_baselines(chip):
    """Each neuron's excitatory and inhibitory synaptic-line voltage at rest (mV,
    [2, 512]) through the calibrated MADC: the zero of recorded conductances.
    The transfer is fitted at membrane potentials; the lines rest elsewhere, so
    that its residual error there would otherwise read as a constant
    conductance (~1e-3 uS on chip 0)."""
    saved = chip.config.copy()
    chip.config.neurons.threshold_enable = False
    # 1000 samples: the MADC's noise averages to ~5e-5 uS per neuron
    baselines = np.array([measure.madc_to_mv(
        measure.madc_mean_codes(chip, observable, duration=100.0), chip)
        for observable in ("exc_synin", "inh_synin")])
    chip.config = saved
    return baselines
