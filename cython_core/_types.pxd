# Shared declarations of the engine's kernels: parameter and state arrays as
# raw pointers (all contiguous float32 over the 512 neurons unless noted).

cdef extern from *:
    # __restrict__ tells the C compiler that the arrays never alias, which
    # it needs to vectorise loops over many arrays without runtime checks.
    ctypedef float* rfloat "float * __restrict__"
    ctypedef const float* crfloat "const float * __restrict__"
    ctypedef unsigned int* ruint "unsigned int * __restrict__"

# Per-neuron parameters and state live in two float32 blocks, one row of 512
# per quantity ([NUM_PARAMS][512] and [NUM_STATE][512]): the kernel then
# addresses everything from one base pointer plus constant offsets, instead of
# juggling dozens of pointers that do not fit into registers.

cdef enum:
    NUM_NEURONS = 512
    # rows are 512 neurons plus 16 floats of padding: with a stride of exactly
    # 2 KiB, loads and stores of rows 2 apart share their low 12 address bits
    # and the CPU stalls on false store-to-load dependencies (4K aliasing)
    NEURON_STRIDE = 528
    # the membrane's analog supply rails (mV), which bound it
    RAIL_LOW_MV = 0
    RAIL_HIGH_MV = 1200

cdef enum Param:
    P_G_LEAK = 0       # leak conductance, uS
    P_E_LEAK           # leak potential, mV
    P_INV_C            # 1 / membrane capacitance, 1/pF
    P_NEG_DT_INV_C     # -dt / membrane capacitance, us/pF
    P_E_RESET          # mV
    P_V_THRESH         # mV; +1e30 when the comparator is off, -1e30 at or below
                       # the lower rail (see kernel_rows)
    P_T_REF            # us
    # the synaptic OTA's current over a step, gm * (the line's step mean) +
    # gm * offset, from the line at the step's start (mean: tau_syn (1 -
    # decay) / dt) and the jumps arrived in it (each times its time to the
    # step's end, acc_qd): products of per-neuron factors, taken once here
    P_GM_MEAN_E        # gm * mean, uS
    P_GM_MEAN_I
    P_GM_JUMP_E        # gm * jump / dt, uS/us
    P_GM_JUMP_I
    P_GMOFF_E          # gm * OTA offset, nA
    P_GMOFF_I
    P_DECAY_E          # exp(-dt / tau_syn)
    P_DECAY_I
    P_INV_TAU_E        # 1 / tau_syn, 1/us
    P_INV_TAU_I
    P_JUMP_E           # line-voltage gain of the small-capacitance switch
    P_JUMP_I
    P_K_COBA_E         # COBA conductance per nA of CUBA current, 1/mV (0: CUBA)
    P_K_COBA_I
    P_DRIVE_E          # drive per nA of synaptic current: CUBA sign + k * e_rev
    P_DRIVE_I
    P_I_OFFSET         # nA
    # adaptation over a step: w -> w decay_w + (a v0 - a e_adapt) (1 - decay_w)
    P_A_RELAX          # a (1 - decay_w), adaptation conductance a in uS (signed)
    P_A_E_RELAX        # a e_adapt (1 - decay_w), nA
    P_DECAY_W          # exp(-dt / tau_w)
    P_B                # spike-triggered adaptation, nA (signed)
    P_EXP_SLOPE        # 1 / delta_T, 1/mV
    P_EXP_SHIFT        # ln(i_t) - v_t / delta_T (very negative when off)
    P_GROWTH_M_LEAK    # 1 - exp(-dt g_leak / C): the membrane's step without COBA
    NUM_PARAMS

cdef enum State:
    S_V = 0            # membrane, mV
    S_U_E              # synaptic-line voltage deviation, mV
    S_U_I
    S_W                # adaptation current, nA
    S_REFR             # refractory time left at the end of the step, us
    S_ACC_Q_E          # sum of line-voltage steps arrived in this step
    S_ACC_QD_E         # ... each times its time to the end of the step
    S_ACC_Q_I
    S_ACC_QD_I
    S_SPIKE_OFFSET     # time of the spike within the step, or -1
    # the step's start values that the spike's timing and reset need, kept for
    # the neurons that crossed the threshold (see _neurons.settle_spike)
    S_V_START          # membrane at the step's start, mV
    S_CURRENT_START    # exponential term on: the linear currents at the step's start, nA;
                       # off: v_inf - v0, mV
    S_G_START          # exponential term on: their conductance, uS; off: the step's gain
    NUM_STATE


cdef struct SynapseArrays:
    float* step          # [2][256][256] line-voltage step per event, mV
    unsigned char* label # [2][256 rows][256 columns] 6-bit synapse address
    # Correlation sensors.  Pre spikes update rows, post spikes columns, so the
    # acausal branch is stored row-major [2][row][column] and the causal branch
    # column-major [2][column][row], each walked contiguously by its update.
    unsigned char* label_t   # labels, column-major
    # A sensor's amplitude (mV per pair) and rate (1 / tau, 1/us): its column's
    # (the quadrant's biases) times its own fixed-pattern factor
    float* amplitude         # per neuron column
    float* rate              # per neuron column
    # The factors are 16-bit codes of a power-of-two step (factor = code *
    # gain_step[k], exact in float32): the sensors' updates stream them from
    # memory at every pre and post spike, and half the bytes of float32 took
    # ~1 ms off the full chip's STDP run
    unsigned short* amp_gain_causal   # column-major
    unsigned short* rate_gain_causal  # column-major
    float* causal            # accumulated voltage drop, mV, column-major
    unsigned short* amp_gain_acausal
    unsigned short* rate_gain_acausal
    float gain_step[4]       # amp causal, rate causal, amp acausal, rate acausal
    float* acausal
    double* t_last_pre   # [2][64 addresses][256 rows]: a synapse's last pre
                         # spike is that of its row and label, us (address-major:
                         # a post spike's reads stay within its rows' few addresses)
    double* t_last_post  # per neuron, us
    # A row whose synapses all carry one address (a row per source, as a
    # full-chip projection maps): its last pre spike at that address, kept
    # contiguous by row so that a post spike reads it without a gather
    int* row_address     # [2][256 rows]: the address, or -1 (mixed labels)
    double* t_row_pre    # [2][256 rows]: that address's last pre spike, us
    int uniform_rows[2]  # per hemisphere: whether every row has one address
    # t_row_pre and t_last_post again as float32 offsets from a recent time
    # of their hemisphere (rebase_sensor_times), which the updates subtract
    # in float32: converting double differences took a fifth of their
    # vector operations
    double time_origin[2]
    float* t_row_pre_offset      # [2][256 rows]
    float* t_last_post_offset    # per neuron
    float* inv_saturation    # per neuron column: 1 / the saturation level (Engine.bind), 1/mV
