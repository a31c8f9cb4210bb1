"""Small experiments on the native API, under the module names the real
system's examples have, so that its instructions and tests find them:

    python -m pynn_brainscales.brainscales2.examples.single_neuron_demo
    python -m pynn_brainscales.brainscales2.examples.leak_over_threshold
    python -m pynn_brainscales.brainscales2.examples.external_input
    python -m pynn_brainscales.brainscales2.examples.internal_projections
    python -m pynn_brainscales.brainscales2.examples.isi_calib
    python -m pynn_brainscales.brainscales2.examples.static_recording_synapse
    python -m pynn_brainscales.brainscales2.examples.plasticity_rule
    python -m pynn_brainscales.brainscales2.examples.calibhxneuron

Each saves its figure (matplotlib) in the working directory.  Parameters are
the circuit's own (CapMem values, hardware ms).
"""
