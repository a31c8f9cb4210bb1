# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""AdEx membrane kernel: one time step for all neurons.

The step is branchless (selects only) so that the C compiler vectorises it,
with the inline exp of _fastmath.h; compiled with -ffast-math and
-fsingle-precision-constant (see setup.py).

Per neuron and step, with the synaptic currents and the adaptation current
taken at their mean over the step and the exponential term linearised around
the step's start, the membrane equation is linear with constant coefficients
and is integrated exactly:
    V(t+dt) = V + (I(V) / G) * (1 - exp(-dt * G / C))
where G is the leak plus COBA conductance (minus the exponential term's slope)
and I(V) the total membrane current at the step's start.  A neuron that
leaves its refractory period inside the step integrates only the free part; a
threshold crossing is located by linear interpolation inside the step.
"""
from libc.math cimport fabsf

cdef extern from "_fastmath.h":
    float expf "emu_expf"(float x) noexcept nogil
    float expm1f "emu_expm1f"(float x) noexcept nogil

from ._types cimport *


# Plain selects instead of libm's fminf/fmaxf: these map onto vector min/max
# instructions, fminf/fmaxf (NaN-aware) do not vectorise.
cdef inline float fminf(float a, float b) noexcept nogil:
    return a if a < b else b


cdef inline float fmaxf(float a, float b) noexcept nogil:
    return a if a > b else b

# The exponential term's argument is bounded so that exp() stays finite; the
# rails clamp the membrane long before this matters.
DEF EXP_ARG_MAX = 30.0


# Fused "tag" types select one compiled loop per feature combination at Cython
# compile time (the tags' values are unused).
ctypedef signed char ExpOn
ctypedef unsigned char ExpOff
ctypedef short CobaOn
ctypedef unsigned short CobaOff

ctypedef fused ExpTag:
    ExpOn
    ExpOff

ctypedef fused CobaTag:
    CobaOn
    CobaOff

# whether events reached the synaptic inputs' accumulators since the last step:
# without, they hold zeros, and the step neither loads nor clears them
ctypedef float InputOn
ctypedef double InputOff

ctypedef fused InputTag:
    InputOn
    InputOff

# all 512 neurons, the 256 of one hemisphere (pointers offset by its first), or
# a range of neurons counted at run time (a network that uses a few circuits)
ctypedef int AllNeurons
ctypedef long HalfNeurons
ctypedef char RangeNeurons

ctypedef fused CountTag:
    AllNeurons
    HalfNeurons
    RangeNeurons

DEF HALF_NEURONS = 256


cdef int neuron_step(const float* params, float* state, unsigned int* rng, float dt,
                     float noise, bint with_exp, bint with_coba, bint inputs,
                     int hemisphere) noexcept nogil:
    """Advance the neurons by dt -- all 512 (hemisphere -1) or the 256 of one
    hemisphere; returns 1 if any of them spiked (see S_SPIKE_OFFSET).

    with_exp / with_coba: whether any neuron has its exponential term / a COBA
    input; without, the kernel variant skips the term / the per-step decay exp.
    inputs: whether events reached the accumulators (S_ACC_*) since the last
    step; without, they must hold zeros, and the step leaves them unread.
    """
    cdef AllNeurons everyone = 0
    cdef HalfNeurons half = 0
    cdef Py_ssize_t first = 0 if hemisphere < 0 else hemisphere * HALF_NEURONS
    if hemisphere < 0:
        return _dispatch(params, state, rng, dt, noise, with_exp, with_coba, inputs, everyone, 0)
    return _dispatch(params + first, state + first, rng + first, dt, noise, with_exp, with_coba,
                     inputs, half, 0)


cdef int neuron_step_range(const float* params, float* state, unsigned int* rng, float dt,
                           float noise, bint with_exp, bint with_coba, bint inputs, int first,
                           int count) noexcept nogil:
    """As neuron_step, for the neurons first .. first + count - 1 only."""
    cdef RangeNeurons some = 0
    if count <= 0:
        return 0
    return _dispatch(params + first, state + first, rng + first, dt, noise, with_exp,
                     with_coba, inputs, some, count)


cdef inline int _dispatch(const float* params, float* state, unsigned int* rng, float dt,
                          float noise, bint with_exp, bint with_coba, bint inputs,
                          CountTag count_tag, Py_ssize_t n) noexcept nogil:
    cdef InputOn input_on = 0
    cdef InputOff input_off = 0
    if inputs:
        return _dispatch_model(params, state, rng, dt, noise, with_exp, with_coba, input_on,
                               count_tag, n)
    return _dispatch_model(params, state, rng, dt, noise, with_exp, with_coba, input_off,
                           count_tag, n)


cdef inline int _dispatch_model(const float* params, float* state, unsigned int* rng, float dt,
                                float noise, bint with_exp, bint with_coba, InputTag input_tag,
                                CountTag count_tag, Py_ssize_t n) noexcept nogil:
    cdef ExpOn exp_on = 0
    cdef ExpOff exp_off = 0
    cdef CobaOn coba_on = 0
    cdef CobaOff coba_off = 0
    if with_exp and with_coba:
        return _kernel(params, state, rng, dt, noise, exp_on, coba_on, input_tag, count_tag, n)
    if with_exp:
        return _kernel(params, state, rng, dt, noise, exp_on, coba_off, input_tag, count_tag, n)
    if with_coba:
        return _kernel(params, state, rng, dt, noise, exp_off, coba_on, input_tag, count_tag, n)
    return _kernel(params, state, rng, dt, noise, exp_off, coba_off, input_tag, count_tag, n)




# The trip count is a compile-time constant (512, or 256 for one hemisphere) so
# that gcc can prove the rows of the blocks (NEURON_STRIDE apart) never overlap
# and needs no runtime checks.
cdef int _kernel(crfloat P, rfloat S, ruint rng, float dt, float noise,
                 ExpTag exp_tag, CobaTag coba_tag, InputTag input_tag, CountTag count_tag,
                 Py_ssize_t range_count) noexcept nogil:
    cdef float inv_dt = 1.0 / dt
    cdef Py_ssize_t i
    cdef float latest = -1.0
    cdef bint spiking
    cdef unsigned int x
    cdef float v0, free, s_e, s_i, g_e, g_i, g_tot, current, step_inf
    cdef float gain, v_new, v_free
    cdef float w, exp_term, exp_slope, rand, reset, thresh, refr0
    cdef float acc_q_e, acc_qd_e, acc_q_i, acc_qd_i, u_e, u_i
    cdef float g_lin, current_lin
    cdef Py_ssize_t count
    if CountTag is AllNeurons:
        count = NUM_NEURONS
    elif CountTag is HalfNeurons:
        count = HALF_NEURONS
    else:
        count = range_count

    for i in range(count):
        # every element is loaded unconditionally: conditional loads inside
        # selects stop gcc from vectorising
        v0 = S[S_V * NEURON_STRIDE + i]
        u_e = S[S_U_E * NEURON_STRIDE + i]
        u_i = S[S_U_I * NEURON_STRIDE + i]
        w = S[S_W * NEURON_STRIDE + i]
        refr0 = S[S_REFR * NEURON_STRIDE + i]
        if InputTag is InputOn:
            acc_q_e = S[S_ACC_Q_E * NEURON_STRIDE + i]
            acc_qd_e = S[S_ACC_QD_E * NEURON_STRIDE + i]
            acc_q_i = S[S_ACC_Q_I * NEURON_STRIDE + i]
            acc_qd_i = S[S_ACC_QD_I * NEURON_STRIDE + i]
        else:
            # zeros as the last step left them: +0 changes no sum below
            acc_q_e = acc_qd_e = acc_q_i = acc_qd_i = 0.0
        reset = P[P_E_RESET * NEURON_STRIDE + i]
        thresh = P[P_V_THRESH * NEURON_STRIDE + i]

        # fraction of the step, at its end, in which the neuron is not refractory
        free = fminf(fmaxf(1.0 - refr0 * inv_dt, 0.0), 1.0)
        # the OTAs' step-mean currents
        s_e = (P[P_GM_MEAN_E * NEURON_STRIDE + i] * u_e + P[P_GMOFF_E * NEURON_STRIDE + i]
               + P[P_GM_JUMP_E * NEURON_STRIDE + i] * acc_qd_e)
        s_i = (P[P_GM_MEAN_I * NEURON_STRIDE + i] * u_i + P[P_GMOFF_I * NEURON_STRIDE + i]
               + P[P_GM_JUMP_I * NEURON_STRIDE + i] * acc_qd_i)
        g_e = s_e * P[P_K_COBA_E * NEURON_STRIDE + i]
        g_i = s_i * P[P_K_COBA_I * NEURON_STRIDE + i]

        x = rng[i]
        x = x ^ (x << 13)
        x = x ^ (x >> 17)
        x = x ^ (x << 5)
        rng[i] = x
        rand = <float>(<int>(x >> 8)) * 5.9604645e-08 - 0.5

        # the membrane current at v0, and the total conductance: the solution
        # is written as v0 + (I0 / G) * (1 - exp(-dt G / C)), which keeps a
        # membrane at rest exactly at rest and loses no digits to cancellation
        g_tot = fmaxf(P[P_G_LEAK * NEURON_STRIDE + i] + g_e + g_i, 1e-6)
        current = (P[P_G_LEAK * NEURON_STRIDE + i] * (P[P_E_LEAK * NEURON_STRIDE + i] - v0)
                   + s_e * P[P_DRIVE_E * NEURON_STRIDE + i] - g_e * v0
                   + s_i * P[P_DRIVE_I * NEURON_STRIDE + i] - g_i * v0
                   + P[P_I_OFFSET * NEURON_STRIDE + i] - w + rand * noise)
        g_lin = g_tot
        current_lin = current
        if ExpTag is ExpOn:
            # the exponential term linearised around v0 (a negative conductance
            # exp_term / delta_T): second order in dt where freezing it would be
            # first order; near the runaway the total conductance turns negative
            # and the solution grows exponentially, as it should
            exp_term = expf(fminf(v0 * P[P_EXP_SLOPE * NEURON_STRIDE + i]
                                  + P[P_EXP_SHIFT * NEURON_STRIDE + i], EXP_ARG_MAX))
            exp_slope = exp_term * P[P_EXP_SLOPE * NEURON_STRIDE + i]
            g_tot = g_tot - exp_slope
            g_tot = g_tot if fabsf(g_tot) > 1e-6 else 1e-6
            current = current + exp_term
        # 1 - exp(-dt G / C) as -expm1: 1 - expf lost digits to cancellation
        # (relative error ~1e-5 for the smallest steps, dt G / C ~ 0.005)
        gain = P[P_GROWTH_M_LEAK * NEURON_STRIDE + i]
        if CobaTag is CobaOn or ExpTag is ExpOn:
            # the products of per-neuron factors first: off the chain exp -> exp
            gain = -expm1f(g_tot * P[P_NEG_DT_INV_C * NEURON_STRIDE + i])
        step_inf = current / g_tot            # v_inf - v0
        v_free = v0 + (step_inf * free) * gain
        v_new = fminf(fmaxf(v_free, RAIL_LOW_MV), RAIL_HIGH_MV)

        # compared before the rails' clamp, off its dependency chain: the same
        # outcome, as a threshold beyond the upper rail (or off) is never
        # reached and one at or below the lower is -1e30 (engine.kernel_rows);
        # a runaway's v_free may be +inf
        spiking = (v_free >= thresh) & (thresh <= RAIL_HIGH_MV) & (free > 0.0)
        # a crossing's time, reset and adaptation jump are left to
        # settle_spike, which the engine calls for the few neurons that
        # crossed: here they would cost every neuron a division and a dozen
        # more operations per step, and hold its stores until the comparison
        S[S_V * NEURON_STRIDE + i] = v_new if free > 0.0 else reset
        S[S_REFR * NEURON_STRIDE + i] = fmaxf(refr0 - dt, 0.0)
        S[S_SPIKE_OFFSET * NEURON_STRIDE + i] = free if spiking else -1.0
        S[S_V_START * NEURON_STRIDE + i] = v0
        if ExpTag is ExpOn:
            S[S_CURRENT_START * NEURON_STRIDE + i] = current_lin
            S[S_G_START * NEURON_STRIDE + i] = g_lin
        else:
            S[S_CURRENT_START * NEURON_STRIDE + i] = step_inf
            S[S_G_START * NEURON_STRIDE + i] = gain

        S[S_W * NEURON_STRIDE + i] = (w * P[P_DECAY_W * NEURON_STRIDE + i]
                                      + (P[P_A_RELAX * NEURON_STRIDE + i] * v0
                                         - P[P_A_E_RELAX * NEURON_STRIDE + i]))
        S[S_U_E * NEURON_STRIDE + i] = (u_e * P[P_DECAY_E * NEURON_STRIDE + i]
                                        + P[P_JUMP_E * NEURON_STRIDE + i]
                                        * (acc_q_e - acc_qd_e * P[P_INV_TAU_E * NEURON_STRIDE + i]))
        S[S_U_I * NEURON_STRIDE + i] = (u_i * P[P_DECAY_I * NEURON_STRIDE + i]
                                        + P[P_JUMP_I * NEURON_STRIDE + i]
                                        * (acc_q_i - acc_qd_i * P[P_INV_TAU_I * NEURON_STRIDE + i]))
        if InputTag is InputOn:
            S[S_ACC_Q_E * NEURON_STRIDE + i] = 0.0
            S[S_ACC_QD_E * NEURON_STRIDE + i] = 0.0
            S[S_ACC_Q_I * NEURON_STRIDE + i] = 0.0
            S[S_ACC_QD_I * NEURON_STRIDE + i] = 0.0
    # a max-reduction in a loop of its own: inside the big loop it would
    # block vectorisation
    for i in range(count):
        latest = fmaxf(latest, S[S_SPIKE_OFFSET * NEURON_STRIDE + i])
    return 1 if latest >= 0.0 else 0


cdef float settle_spike(const float* P, float* S, Py_ssize_t i, float dt,
                        bint with_exp) noexcept nogil:
    """Complete the step of neuron i, which crossed its threshold in it (its
    spike offset holds the step's free fraction): the spike's time within the
    step (returned and stored as its offset), the reset, the refractory
    time left at the step's end and the adaptation's jump b.  with_exp: as for
    the neuron_step that made the step.

    The crossing is located by linear interpolation inside the step.  If the
    refractory period ends before the step does, the neuron integrates the
    rest from the reset."""
    cdef float inv_dt = 1.0 / dt
    cdef float v0 = S[S_V_START * NEURON_STRIDE + i]
    cdef float free = S[S_SPIKE_OFFSET * NEURON_STRIDE + i]
    cdef float reset = P[P_E_RESET * NEURON_STRIDE + i]
    cdef float slope = S[S_V * NEURON_STRIDE + i] - v0
    cdef float phi, offset, left, released, free_run, v_after
    slope = slope if fabsf(slope) > 1e-9 else 1e-9
    phi = fminf(fmaxf((P[P_V_THRESH * NEURON_STRIDE + i] - v0) / slope, 0.0), 1.0)
    offset = dt * (1.0 - free + free * phi)
    # refractory time still left at the end of the step after this spike;
    # if negative, the neuron is released inside the step and integrates on
    left = P[P_T_REF * NEURON_STRIDE + i] - (dt - offset)
    released = fmaxf(-left, 0.0) * inv_dt
    if with_exp:
        # after the reset the exponential term, linearised at v0 near the
        # threshold, no longer applies (its asymptote can lie far beyond the
        # rails): the released part (a fraction of a step) starts from the
        # reset with the linear currents at the reset potential, first order
        free_run = released * dt * P[P_INV_C * NEURON_STRIDE + i]
        v_after = reset + (S[S_CURRENT_START * NEURON_STRIDE + i]
                           - S[S_G_START * NEURON_STRIDE + i] * (reset - v0)) * free_run
    else:
        v_after = reset + ((v0 + S[S_CURRENT_START * NEURON_STRIDE + i] - reset)
                           * S[S_G_START * NEURON_STRIDE + i] * released)
    S[S_V * NEURON_STRIDE + i] = fminf(fmaxf(v_after, RAIL_LOW_MV), RAIL_HIGH_MV)
    S[S_REFR * NEURON_STRIDE + i] = fmaxf(left, 0.0)
    S[S_SPIKE_OFFSET * NEURON_STRIDE + i] = offset
    S[S_W * NEURON_STRIDE + i] += P[P_B * NEURON_STRIDE + i]      # spike-triggered adaptation
    return offset
