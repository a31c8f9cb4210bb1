"""Counts, ranges and clocks of one BrainScaleS-2 chip (HX).

Internal unit system of the engine (chosen so that every product is consistent
without factors): potentials in mV, time in us (hardware time), capacitance in
pF, conductance in uS, current in nA.  pF * mV / us = nA and pF / uS = us.
"""

# --- topology [pynn-bss2, DESIGN.md section 2] ---
NUM_HEMISPHERES = 2
COLUMNS_PER_HEMISPHERE = 256
NUM_NEURONS = NUM_HEMISPHERES * COLUMNS_PER_HEMISPHERE  # 512
NEURONS_PER_QUADRANT = 128
NUM_QUADRANTS = NUM_NEURONS // NEURONS_PER_QUADRANT  # 4
ROWS_PER_HEMISPHERE = 256
NUM_SYNAPSES = NUM_HEMISPHERES * ROWS_PER_HEMISPHERE * COLUMNS_PER_HEMISPHERE  # 131072
DRIVERS_PER_HEMISPHERE = 128
ROWS_PER_DRIVER = 2
NUM_BACKGROUND_GENERATORS = 8

# --- digital ranges ---
CAPMEM_MAX = 1022          # 10-bit analog memory; 1023 is reserved ("off")
WEIGHT_MAX = 63            # 6-bit synapse weight
ADDRESS_MAX = 63           # 6-bit synapse / event address
ROW_SELECT_MAX = 255       # upper label bits matched by a synapse driver
EVENT_LABEL_MAX = (ROW_SELECT_MAX + 1) * (ADDRESS_MAX + 1) - 1  # 14-bit label
MEMBRANE_CAPACITANCE_MAX = 63
REFRACTORY_COUNTER_MAX = 255
REFRACTORY_CLOCK_SCALER_MAX = 15
CADC_CODE_MAX = 255        # 8 bit
MADC_CODE_MAX = 1023       # 10 bit
CADC_CHANNEL_OFFSET_MIN = -128
CADC_CHANNEL_OFFSET_MAX = 127
SPIKE_COUNTER_MAX = 255    # 8-bit saturating rate counter per neuron

# --- row modes of the synapse array ---
ROW_DISABLED = 0
ROW_EXCITATORY = 1
ROW_INHIBITORY = 2

# --- clocks ---
SPEEDUP = 1000.0                    # 1 ms biological = 1 us hardware
FPGA_CLOCK_MHZ = 125.0              # spike timestamps
TIMESTAMP_RESOLUTION_US = 1.0 / FPGA_CLOCK_MHZ   # 8 ns
REFRACTORY_BASE_CLOCK_MHZ = 250.0   # divided by 2**(scaler + 1) [calix]
PPU_CLOCK_MHZ = 250.0
MADC_SAMPLE_INTERVAL_US = 0.034     # ~29.4 MSa/s
CADC_READ_INTERVAL_US = 2.0         # one full CADC read from the PPU, ~1.7-2 us

# --- integration ---
DEFAULT_TIMESTEP_US = 0.1
