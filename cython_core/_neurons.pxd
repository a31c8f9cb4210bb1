from ._types cimport NeuronParams, NeuronState

cdef int neuron_step(const NeuronParams* p, NeuronState* s, int n, float dt) noexcept nogil
