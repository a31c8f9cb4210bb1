cdef int neuron_step(const float* params, float* state, unsigned int* rng, float dt,
                     float noise, bint with_exp, bint with_coba, int hemisphere) noexcept nogil
cdef int neuron_step_range(const float* params, float* state, unsigned int* rng, float dt,
                           float noise, bint with_exp, bint with_coba, int first,
                           int count) noexcept nogil
