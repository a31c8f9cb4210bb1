from ._types cimport SynapseArrays

cdef void deliver_row(const SynapseArrays* syn, int hemisphere, int row, int address,
                      float time_to_step_end, float* acc_q, float* acc_qd,
                      float efficacy) noexcept nogil
cdef void correlate_pre(SynapseArrays* syn, int hemisphere, int row, int address,
                        double t) noexcept nogil
cdef void correlate_post(SynapseArrays* syn, int neuron, double t) noexcept nogil
cdef void note_pre_spike(SynapseArrays* syn, int hemisphere, int row, int address,
                         double t) noexcept nogil
cdef void rebase_sensor_times(SynapseArrays* syn, int hemisphere, double origin) noexcept nogil
