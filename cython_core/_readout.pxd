from libc.stdint cimport uint64_t

cdef void _fill_uniform(double* out, Py_ssize_t n, uint64_t key) noexcept nogil
cdef void _fill_normal(float* out, Py_ssize_t n, uint64_t key) noexcept nogil
