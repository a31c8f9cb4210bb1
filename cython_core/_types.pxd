# Shared declarations of the engine's kernels: parameter and state arrays as
# raw pointers (all contiguous float32 over the 512 neurons unless noted).

cdef extern from *:
    # __restrict__ tells the C compiler that the arrays never alias, which
    # it needs to vectorise loops over many arrays without runtime checks.
    ctypedef float* rfloat "float * __restrict__"
    ctypedef const float* crfloat "const float * __restrict__"
    ctypedef unsigned int* ruint "unsigned int * __restrict__"

cdef struct NeuronParams:
    float* g_leak
    float* e_leak
    float* inv_c
    float* e_reset
    float* v_thresh
    float* thresh_on
    float* t_ref
    float* gm_e
    float* gm_i
    float* uoff_e
    float* uoff_i
    float* decay_e
    float* decay_i
    float* mean_e
    float* mean_i
    float* inv_tau_e
    float* inv_tau_i
    float* jump_e
    float* jump_i
    float* k_coba_e
    float* k_coba_i
    float* cuba_e
    float* cuba_i
    float* e_rev_e
    float* e_rev_i
    float* i_offset
    float* a
    float* b
    float* e_adapt
    float* decay_w
    float* i_t
    float* v_t
    float* inv_d_t
    float* noise

cdef struct NeuronState:
    float* v
    float* u_e           # synaptic-line voltage deviation, mV
    float* u_i
    float* w             # adaptation current, nA
    float* refr          # refractory time left at the end of the step, us
    unsigned int* rng    # xorshift32 state per neuron (temporal noise)
    float* acc_q_e       # sum of line-voltage steps arrived in this step
    float* acc_qd_e      # ... each times its time to the end of the step
    float* acc_q_i
    float* acc_qd_i
    float* spike_offset  # time of the spike within the step, or -1

cdef struct SynapseArrays:
    float* step          # [2][256][256] line-voltage step per event, mV
    unsigned char* label # [2][256 rows][256 columns] 6-bit synapse address
    # Correlation sensors.  Pre spikes update rows, post spikes columns, so the
    # acausal branch is stored row-major [2][row][column] and the causal branch
    # column-major [2][column][row], each walked contiguously by its update.
    unsigned char* label_t   # labels, column-major
    float* amp_causal        # column-major
    float* inv_tau_causal    # column-major
    float* causal            # accumulated voltage drop, mV, column-major
    float* amp_acausal
    float* inv_tau_acausal
    float* acausal
    double* t_last_pre   # [2][256 rows][64 addresses]: a synapse's last pre
                         # spike is that of its row and label, us
    double* t_last_post  # per neuron, us
    float* saturation    # per neuron column, mV
