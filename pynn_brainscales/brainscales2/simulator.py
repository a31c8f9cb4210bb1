"""The native API's state: the same backend core, in hardware units and time.

Time is hardware time in ms (`run(0.1)` is 100 us of chip time); neuron
parameters are the circuit's own; weights are 6-bit integers; recordings are
raw ADC codes.
"""
from dataclasses import dataclass
from enum import Enum

import numpy as np
from pyNN import errors

from cython_core import CadcRecording, MadcRecording, constants as C
from cython_core.config import NEURON_FIELDS

from .. import simulator as core
from ..mapping import parallel_shares, row_select as mapping_row_select
from .standardmodels.cells import UNSUPPORTED_FIELDS

US_PER_MS = 1000.0


class ChipWideParameterError(errors.InvalidParameterValueError, RuntimeError):
    """A calibration target the real system sets once for the whole chip was
    given several values.  The real system raises RuntimeError when it maps
    the network; this is one as well (and a PyNN parameter error)."""


class RunCommand(Enum):
    """APPEND runs a snippet of the experiment, EXECUTE its last one (after
    which the experiment is over until reset()); PREPARE only maps, routes and
    calibrates.  Changes between snippets (recording, inputs, parameters) apply
    from the next snippet on, as on the real system, which runs the snippets
    back to back at EXECUTE; the emulator runs each when it is given."""
    EXECUTE = "execute"
    APPEND = "append"
    PREPARE = "prepare"


# setup() keywords of the BSS-2 software that concern the real system's
# infrastructure and mean nothing here
INFRASTRUCTURE_KEYWORDS = {"calibration_cache", "connection", "timestep", "min_delay"}
# setup() keywords that hand the real system hardware playback programs to run
# around the experiment: accepted as None (their default), refused otherwise
INJECTION_KEYWORDS = {"injected_config", "injection_pre_static_config", "injection_pre_realtime",
                      "injection_inside_realtime_begin", "injection_inside_realtime",
                      "injection_inside_realtime_end", "injection_post_realtime"}


class NativeState(core.State):
    time_scale = US_PER_MS
    native = True

    def __init__(self):
        self.initial_config = None
        self.enable_neuron_bypass = False
        self.permutation = None
        self.executed = False
        self.record_sample_times = True
        # the experiment's snippets so far: (start, stop) in hardware ms
        self.snippets = []
        self.snippet_index = 0
        super().__init__()

    def setup_native(self, chip, ideal, initial_config, permutation, seed,
                     enable_neuron_bypass=False):
        self.initial_config = initial_config
        self.enable_neuron_bypass = bool(enable_neuron_bypass)
        if permutation is not None:
            permutation = np.asarray(permutation, dtype=np.int64)
            if (permutation.ndim != 1 or len(np.unique(permutation)) != len(permutation)
                    or np.any(permutation < 0) or np.any(permutation >= C.NUM_NEURONS)):
                raise ValueError(f"neuronPermutation: {permutation.tolist()} must list distinct "
                                 f"neuron circuits 0..{C.NUM_NEURONS - 1}")
        self.permutation = permutation
        # 0.1 us integration step = 1e-4 ms of hardware time
        super().setup(1e-4, 0.0, "auto", chip, ideal, seed)

    def clear(self):
        super().clear()
        self.executed = False
        self.snippets = []

    def reset(self):
        super().reset()
        self.executed = False
        self.snippets = []

    def run_until(self, tstop):
        """One snippet: the recorders file what it delivers under its index."""
        start = self.t
        self.snippet_index = len(self.snippets)
        super().run_until(tstop)
        if self.t > start:
            self.snippets.append((start, self.t))

    def allocate(self, n):
        slots = super().allocate(n)
        if self.permutation is not None:
            if slots[-1] >= len(self.permutation):
                raise errors.InvalidDimensionsError(
                    f"neuronPermutation lists {len(self.permutation)} circuits; "
                    f"{slots[-1] + 1} neurons need placing")
            return self.permutation[slots]
        return slots

    # --- configuration ---
    def _population_config(self, pop, slow_scaler):
        ct = pop.celltype
        if getattr(ct, "native_cell", False):
            params = pop.hardware_parameters()
            for name in UNSUPPORTED_FIELDS:
                if np.any(params[name] != 0):
                    raise NotImplementedError(
                        f"HXNeuron population {pop.label!r}: {name} = "
                        f"{sorted(set(params[name].tolist()))}; the emulated neuron circuit "
                        f"has no multi-compartment connections, Bayesian fire coupling, "
                        f"adaptation pulses or sinking offset current: this field must be 0")
            params = {name: values for name, values in params.items() if name in NEURON_FIELDS}
            # the real system casts each value to its field's integer type
            # (int(): toward zero), so np.linspace(0, 1000, 50) sets CapMem
            # currents; an ideal chip takes CapMem values as they are
            whole = (lambda values: values) if self.ideal else np.trunc
            fields = {name: (values.astype(bool) if name.endswith(("enable", "division",
                      "multiplication", "small_capacitance", "high_resistance", "coba_mode",
                      "invert_a", "invert_b", "recurrent", "digital", "bypass_excitatory",
                      "bypass_inhibitory")) else whole(np.asarray(values, float)))
                      for name, values in params.items()}
        elif getattr(ct, "calibrated", False):
            fields = pop.calibrated_config()
        else:
            raise errors.InvalidModelError(
                f"{type(ct).__name__} is not a BrainScaleS-2 cell type")
        if self.enable_neuron_bypass:
            # as the real system's setup(enable_neuron_bypass=True): every event
            # that reaches a neuron through a nonzero weight is its spike
            fields = dict(fields, threshold_enable=False,
                          event_routing_enable_bypass_excitatory=True,
                          event_routing_enable_bypass_inhibitory=True)
        return fields

    def _bias_for_negative_currents(self, config):
        self._bias = np.zeros(C.NUM_NEURONS)

    def _offset_schedule(self, t0, t1):
        return None          # the offset current is the neuron's own parameter here

    def _apply_calibration(self, config):
        """Calibrated cells bring their own calibration (see populations); the
        initial_config's chip-wide parts (CADC, synapse DAC) apply to all."""
        result = self.initial_config
        for pop in self._neuron_populations():
            if getattr(pop.celltype, "calibrated", False):
                result = pop.calibration
        if result is not None:
            for field, values in result.quadrants.items():
                config.quadrants.set(field, values)
            config.cadc_channel_offsets[...] = result.cadc_channel_offsets

    def _calibrate(self):
        """All calibrated cells of the network in one calibration of the chip
        (cached per chip and target set)."""
        import calibration
        pops = [p for p in self._neuron_populations() if getattr(p.celltype, "calibrated", False)]
        if not pops:
            return
        defaults = calibration.Targets()
        names = {"leak": "v_rest", "reset": "v_reset", "threshold": "v_thresh",
                 "tau_mem": "tau_m", "tau_syn_exc": "tau_syn_E", "tau_syn_inh": "tau_syn_I",
                 "refractory": "tau_refrac", "i_synin_gm_exc": "i_synin_gm_E",
                 "i_synin_gm_inh": "i_synin_gm_I", "e_rev_exc": "e_rev_E",
                 "e_rev_inh": "e_rev_I"}
        target = {k: np.array(defaults.per_neuron(k)) for k in names}
        # one value for the whole chip, as the real system's calibration takes
        # them: the DAC bias, and each receptor's synaptic input strength
        chip_wide = {name: set() for name in ("synapse_dac_bias", "i_synin_gm_E", "i_synin_gm_I")}
        for pop in pops:
            params = pop.hardware_parameters()
            for key, name in names.items():
                if name in params:
                    target[key][pop.slots] = params[name]
            for name, values in chip_wide.items():
                values.update(np.unique(params[name]).tolist())
        for name, values in chip_wide.items():
            if len(values) > 1:
                raise ChipWideParameterError(
                    f"{name}: values {sorted(values)}; it is set once for the whole chip, "
                    f"give one value for all calibrated neurons")
        dac = chip_wide["synapse_dac_bias"]
        coba = any(p.celltype.conductance_based for p in pops)
        try:
            targets = calibration.Targets(synapse_dac_bias=dac.pop(), **target)
        except calibration.InfeasibleTargetError as err:
            raise errors.InvalidParameterValueError(str(err)) from err
        key = (self.chip_seed, targets.digest(), coba)
        if key not in self.calibrations:
            self.calibrations[key] = calibration.cached(self.chip_seed, targets, coba=coba)
        for pop in pops:
            pop.calibration = self.calibrations[key]
            pop._calib_target = {name: pop.hardware_parameters()[name]
                                for name in pop.celltype.default_parameters}

    def _build(self):
        self._calibrate()
        super()._build()
        config = self.chip.config
        if self.ideal and self.initial_config is not None:
            self._apply_calibration(config)
        self.chip.config = config

    # --- on-chip Poisson sources: the background generators ---
    def _generators(self):
        """The SpikeSourcePoissonOnChip populations, one background generator each."""
        generators = [p for p in self.populations if getattr(p.celltype, "on_chip", False)]
        if len(generators) > C.NUM_BACKGROUND_GENERATORS:
            raise errors.InvalidDimensionsError(
                f"{len(generators)} SpikeSourcePoissonOnChip populations; the chip has "
                f"{C.NUM_BACKGROUND_GENERATORS} background generators")
        return generators

    def _routes_itself(self, prj):
        parts = getattr(prj.pre, "populations", [prj.pre])        # an Assembly's, or itself
        on_chip = [getattr(p.celltype, "on_chip", False) for p in parts]
        if any(on_chip) and len(parts) > 1:
            raise errors.ConnectionError(
                "a projection from an Assembly that holds SpikeSourcePoissonOnChip cells: "
                "connect on-chip sources by population or view (each population is one "
                "generator)")
        return on_chip[0]

    def _reserved_drivers(self):
        return self._generator_drivers

    def _route(self, config):
        self._generator_plans = [self._plan_generator(pop) for pop in self._generators()]
        self._generator_drivers = np.zeros((C.NUM_HEMISPHERES, C.DRIVERS_PER_HEMISPHERE), bool)
        # each generator's drivers from the top of each hemisphere down, the
        # routing of all other sources from the bottom up
        top = np.full(C.NUM_HEMISPHERES, C.DRIVERS_PER_HEMISPHERE)
        for plan in self._generator_plans:
            plan["drivers"] = {}
            for h, rows in plan["rows"].items():
                count = (len(rows) + C.ROWS_PER_DRIVER - 1) // C.ROWS_PER_DRIVER
                plan["drivers"][h] = np.arange(top[h] - count, top[h])[::-1]
                top[h] -= count
                if top[h] < 0:
                    raise errors.ConnectionError(
                        f"SpikeSourcePoissonOnChip populations need more than the "
                        f"{C.DRIVERS_PER_HEMISPHERE} synapse drivers of hemisphere {h}")
                self._generator_drivers[h, plan["drivers"][h]] = True
        super()._route(config)
        for g, plan in enumerate(self._generator_plans):
            self._place_generator(config, g, plan)
            self.synapses_placed += sum(len(synapses) for rows in plan["rows"].values()
                                        for _, synapses in rows)

    def _plan_generator(self, pop):
        """Rows for one on-chip source population's synapses.  Its cells share
        one generator whose events carry random address bits (cell i: address
        i), so all its synapses sit on drivers listening to one row select; a
        column takes each cell on a row of its own.  Returns per hemisphere the
        rows (each: receptor mode, {column: (address, weight)})."""
        if pop.size > C.ADDRESS_MAX + 1:
            raise errors.InvalidDimensionsError(
                f"SpikeSourcePoissonOnChip population {pop.label!r}: {pop.size} cells; one "
                f"generator's random address bits reach {C.ADDRESS_MAX + 1}")
        rows = {}
        for prj in self.projections:
            # the population itself, a view of it (of any depth) or a one-part Assembly
            source = getattr(prj.pre, "populations", [prj.pre])[0]
            source = getattr(source, "grandparent", source)
            if source is not pop or len(prj.connections_pre) == 0:
                continue
            if prj.plastic:
                raise errors.ConnectionError(
                    f"{type(prj.synapse_type).__name__} from SpikeSourcePoissonOnChip "
                    f"population {pop.label!r}: plastic synapses from on-chip sources are "
                    f"not emulated; use StaticSynapse")
            cells = core.as_ints(core.cell_ids(prj.pre, prj.connections_pre)) - pop.first_id
            slots = self._post_slots[prj]
            weights = self._hardware_weights(prj, slots)
            mode = (C.ROW_INHIBITORY if prj.receptor_type == "inhibitory"
                    else C.ROW_EXCITATORY)
            for cell, slot, weight in zip(cells.tolist(), slots.tolist(), weights.tolist()):
                h, column = divmod(slot, C.COLUMNS_PER_HEMISPHERE)
                parts = max(1, int(np.ceil(weight / C.WEIGHT_MAX - 1e-9)))
                shares = parallel_shares(weight, parts, not self.ideal).tolist()
                hemisphere_rows = rows.setdefault(h, [])
                for share in shares:
                    for row in hemisphere_rows:
                        if row[0] == mode and column not in row[1]:
                            break
                    else:
                        row = (mode, {})
                        hemisphere_rows.append(row)
                    row[1][column] = (cell, share)
        return {"population": pop, "rows": rows}

    def _place_generator(self, config, g, plan):
        """Write one generator population's rows and its generator (left off
        where nothing listens: its events would reach other sources' rows)."""
        pop = plan["population"]
        syn = config.synapses
        select = None
        if not plan["rows"]:
            if not pop.recorder._spike_ids():
                return
            # recorded only: the events go to a row select no driver listens to
            listened = set(syn.driver_row_select[syn.driver_enable].tolist())
            free = [s for s in range(C.ROW_SELECT_MAX + 1) if s not in listened]
            if not free:
                raise errors.ConnectionError(
                    f"SpikeSourcePoissonOnChip population {pop.label!r} is recorded but "
                    f"connected to nothing, and every row select has a listening driver")
            select = free[0]
        span = 1 << int(np.ceil(np.log2(max(pop.size, 1))))
        for h, drivers in plan["drivers"].items():
            if select is None and len(drivers):
                select = mapping_row_select(h, int(drivers[0]))
            for k, (mode, synapses) in enumerate(plan["rows"][h]):
                d = int(drivers[k // C.ROWS_PER_DRIVER])
                r = d * C.ROWS_PER_DRIVER + k % C.ROWS_PER_DRIVER
                syn.driver_enable[h, d] = True
                syn.driver_row_select[h, d] = select
                syn.row_modes[h, r] = mode
                # idle synapses listen to an address the generator never sends
                syn.labels[h, r, :] = span % (C.ADDRESS_MAX + 1)
                syn.weights[h, r, :] = 0
                for column, (cell, share) in synapses.items():
                    syn.labels[h, r, column] = cell
                    syn.weights[h, r, column] = share
        params = pop.hardware_parameters()
        rate = float(params["rate"][0])          # per cell, Hz of hardware time
        # the generator sends `span` addresses at random: span x rate in all
        period = C.PPU_CLOCK_MHZ * 1e6 / (rate * span)
        if not 1 <= period <= 65535:
            raise errors.InvalidParameterValueError(
                f"SpikeSourcePoissonOnChip.rate: value {rate:g} Hz per cell ({span} "
                f"address(es), {rate * span:g} Hz in all) is outside the generator's reach "
                f"{C.PPU_CLOCK_MHZ * 1e6 / 65535:.4g}..{C.PPU_CLOCK_MHZ * 1e6:.4g} Hz in all")
        gen = config.generators
        gen.enable[g] = True
        gen.random[g] = True
        gen.period[g] = int(round(period))
        gen.seed[g] = int(params["seed"][0])
        gen.label[g] = (select or 0) << 6
        gen.mask[g] = span - 1

    def _ppu_programs(self, t0, t1):
        from . import plasticity_rules
        return super()._ppu_programs(t0, t1) + plasticity_rules.programs(self, t0, t1)

    @staticmethod
    def _weight_sign(prj):
        return -1.0 if prj.receptor_type == "inhibitory" else 1.0

    def _hardware_weights(self, prj, slots, weights=None):
        weights = prj.connections_weight if weights is None else weights
        return np.abs(weights)

    def _weights_from_hardware(self, prj):
        return lambda w_hw: np.asarray(w_hw, float)

    # --- readout ---
    def _madc_plan(self):
        neurons, observables, columns = [], [], []
        self._cadc_columns = []
        for recorder in self.recorders:
            for variable, ids in recorder.analog_requests():
                for id, slot in zip(ids, core.slots_of(list(ids))):
                    if recorder.device_of(id) == "cadc":
                        self._cadc_columns.append((recorder, variable, id, slot))
                        continue
                    columns.append((recorder, variable, id))
                    neurons.append(slot)
                    observables.append(variable)      # the MADC's own names
        if not neurons:
            return None, []
        return MadcRecording(np.array(neurons), observables), columns

    def _run_chip(self, duration, spikes, madc, schedule, ppu, applied):
        cadc = None
        if self._cadc_columns:
            cadc = CadcRecording(np.array([c[3] for c in self._cadc_columns]))
        return self.chip.run(duration, spikes=spikes, madc=madc, cadc=cadc, ppu=ppu,
                             offset_current_schedule=schedule, configuration_applied=applied)

    def _deliver_results(self, result, columns, t0):
        for recorder in self.recorders:
            recorder.take_spikes(result.spike_times / self.time_scale, result.spike_neurons)
        mask = self.chip.config.generators.mask
        for g, pop in enumerate(self._generators()):
            # a generator's events carry its cell index in the masked address bits
            sent = result.background_generators == g
            cells = result.background_labels[sent] & int(mask[g])
            mine = cells < pop.size
            pop.recorder.take_source_spikes(
                result.background_times[sent][mine] / self.time_scale, cells[mine])
        for j, (recorder, variable, id) in enumerate(columns):
            recorder.take_samples(variable, id, result.madc_times / self.time_scale,
                                  result.madc_codes[:, j].astype(np.float32))
        for j, (recorder, variable, id, slot) in enumerate(self._cadc_columns):
            recorder.take_samples(variable, id, result.cadc_times / self.time_scale,
                                  result.cadc_codes[:, j].astype(np.float32))


@dataclass
class MappedTopologyStatistics:
    """What the network takes of the chip, as the last placement and routing
    found it (the real system's statistics of its mapped topology)."""
    num_populations: int
    num_projections: int
    num_neurons: int                 # neuron circuits placed
    num_connections: int             # connections of the projections
    num_synapses: int                # hardware synapses used (parallel rows counted)
    num_synapse_rows: int            # synapse rows in use
    num_synapse_drivers: int         # synapse drivers in use
    num_background_generators: int   # on-chip Poisson sources
    neuron_usage: float              # of the 512 neuron circuits
    synapse_usage: float             # of the 2 x 256 x 256 synapses
    synapse_driver_usage: float      # of the 2 x 128 drivers
    routing_duration: float          # s: translation, calibration lookup, routing


def backend_statistics(state):
    syn = state.chip.config.synapses
    neurons = sum(p.size for p in state._neuron_populations())
    rows = int(np.count_nonzero(syn.row_modes != C.ROW_DISABLED))
    drivers = int(np.count_nonzero(syn.driver_enable))
    return MappedTopologyStatistics(
        num_populations=len(state.populations), num_projections=len(state.projections),
        num_neurons=neurons, num_connections=sum(len(p) for p in state.projections),
        num_synapses=int(state.synapses_placed), num_synapse_rows=rows,
        num_synapse_drivers=drivers,
        num_background_generators=int(np.count_nonzero(state.chip.config.generators.enable)),
        neuron_usage=neurons / C.NUM_NEURONS,
        synapse_usage=state.synapses_placed / (C.NUM_HEMISPHERES * C.ROWS_PER_HEMISPHERE
                                               * C.COLUMNS_PER_HEMISPHERE),
        synapse_driver_usage=drivers / (C.NUM_HEMISPHERES * C.DRIVERS_PER_HEMISPHERE),
        routing_duration=state.build_seconds)
