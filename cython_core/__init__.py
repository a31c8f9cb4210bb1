"""The emulated BrainScaleS-2 chip: configuration, fixed-pattern noise, dynamics, readout.

This package knows nothing of PyNN: it is driven like the hardware, through
its configuration (`Chip.config`) and `Chip.run`.
"""
from . import constants
from .config import ChipConfig, ConfigurationError
from .chip import Chip, MadcRecording, CadcRecording, PPUProgram, RunResult

__all__ = ["Chip", "ChipConfig", "ConfigurationError", "MadcRecording", "CadcRecording",
           "PPUProgram", "RunResult", "constants"]
