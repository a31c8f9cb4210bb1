cdef int neuron_step(const float* params, float* state, unsigned int* rng, float dt,
                     float noise, bint with_exp, bint with_coba, int hemisphere) noexcept nogil
