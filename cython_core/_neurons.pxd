cdef int neuron_step(const float* params, float* state, unsigned int* rng, float dt,
                     float noise, bint with_exp, bint with_coba, bint inputs,
                     int hemisphere) noexcept nogil
cdef int neuron_step_range(const float* params, float* state, unsigned int* rng, float dt,
                           float noise, bint with_exp, bint with_coba, bint inputs, int first,
                           int count) noexcept nogil
cdef float settle_spike(const float* P, float* S, Py_ssize_t i, float dt,
                        bint with_exp) noexcept nogil
