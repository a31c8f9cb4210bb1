# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""AdEx membrane kernel: one time step for all neurons.

The step is branchless (selects only) so that the C compiler vectorises it
with the vector math library's expf; compiled with -ffast-math and
-fsingle-precision-constant (see setup.py).

Per neuron and step, with the synaptic currents, the adaptation current and the
exponential term taken at their mean over the step, the membrane equation is
linear with constant coefficients and is integrated exactly:
    V(t+dt) = V_inf + (V - V_inf) * exp(-dt * G / C),   V_inf = I / G
where G is the leak plus COBA conductance and I the total drive.  A neuron that
leaves its refractory period inside the step integrates only the free part; a
threshold crossing is located by linear interpolation inside the step.
"""
from libc.math cimport fabsf

cdef extern from "_fastmath.h":
    float expf "emu_expf"(float x) noexcept nogil

from ._types cimport NeuronParams, NeuronState, rfloat, crfloat, ruint


# Plain selects instead of libm's fminf/fmaxf: these map onto vector min/max
# instructions, fminf/fmaxf (NaN-aware) do not vectorise.
cdef inline float fminf(float a, float b) noexcept nogil:
    return a if a < b else b


cdef inline float fmaxf(float a, float b) noexcept nogil:
    return a if a > b else b

# Membrane potential is bounded by the analog supply rails (mV).
DEF RAIL_LOW = 0.0
DEF RAIL_HIGH = 1200.0
# The exponential term's argument is bounded so that exp() stays finite; the
# rails clamp the membrane long before this matters.
DEF EXP_ARG_MAX = 30.0


cdef int neuron_step(const NeuronParams* p, NeuronState* s, int n, float dt) noexcept nogil:
    """Advance all neurons by dt; returns 1 if any spiked (see spike_offset)."""
    return _kernel(n, dt, p.g_leak, p.e_leak, p.inv_c, p.e_reset, p.v_thresh, p.thresh_on, p.t_ref, p.gm_e, p.gm_i, p.uoff_e, p.uoff_i, p.decay_e, p.decay_i, p.mean_e, p.mean_i, p.inv_tau_e, p.inv_tau_i, p.jump_e, p.jump_i, p.k_coba_e, p.k_coba_i, p.cuba_e, p.cuba_i, p.e_rev_e, p.e_rev_i, p.i_offset, p.a, p.b, p.e_adapt, p.decay_w, p.i_t, p.v_t, p.inv_d_t, p.noise, s.v, s.u_e, s.u_i, s.w, s.refr, s.rng, s.acc_q_e, s.acc_qd_e, s.acc_q_i, s.acc_qd_i, s.spike_offset)


# restrict-qualified parameters (not locals) let gcc prove that the arrays
# do not alias, so it vectorises without runtime overlap checks
cdef int _kernel(int n, float dt,
                 crfloat g_leak,
                 crfloat e_leak,
                 crfloat inv_c,
                 crfloat e_reset,
                 crfloat v_thresh,
                 crfloat thresh_on,
                 crfloat t_ref,
                 crfloat gm_e,
                 crfloat gm_i,
                 crfloat uoff_e,
                 crfloat uoff_i,
                 crfloat decay_e,
                 crfloat decay_i,
                 crfloat mean_e,
                 crfloat mean_i,
                 crfloat inv_tau_e,
                 crfloat inv_tau_i,
                 crfloat jump_e,
                 crfloat jump_i,
                 crfloat k_coba_e,
                 crfloat k_coba_i,
                 crfloat cuba_e,
                 crfloat cuba_i,
                 crfloat e_rev_e,
                 crfloat e_rev_i,
                 crfloat i_offset,
                 crfloat a,
                 crfloat b,
                 crfloat e_adapt,
                 crfloat decay_w,
                 crfloat i_t,
                 crfloat v_t,
                 crfloat inv_d_t,
                 crfloat noise,
                 rfloat v,
                 rfloat u_e,
                 rfloat u_i,
                 rfloat w,
                 rfloat refr,
                 ruint rng,
                 rfloat acc_q_e,
                 rfloat acc_qd_e,
                 rfloat acc_q_i,
                 rfloat acc_qd_i,
                 rfloat spike_offset) noexcept nogil:
    cdef float inv_dt = 1.0 / dt
    cdef int i
    cdef float crossed, latest = -1.0
    cdef unsigned int x
    cdef float v0, free, ue_mean, ui_mean, s_e, s_i, g_e, g_i, g_tot, drive, v_inf
    cdef float decay_m, v_full, v_new, slope, phi, offset, left, released, v_after
    cdef float w_inf, exp_term, rand, reset, thresh, refr0

    for i in range(n):
        # every array element is loaded unconditionally: conditional loads
        # inside selects stop gcc from vectorising
        v0 = v[i]
        reset = e_reset[i]
        thresh = v_thresh[i]
        refr0 = refr[i]
        # fraction of the step, at its end, in which the neuron is not refractory
        free = fminf(fmaxf((dt - refr0) * inv_dt, 0.0), 1.0)
        ue_mean = u_e[i] * mean_e[i] + jump_e[i] * acc_qd_e[i] * inv_dt
        ui_mean = u_i[i] * mean_i[i] + jump_i[i] * acc_qd_i[i] * inv_dt
        s_e = gm_e[i] * (ue_mean + uoff_e[i])
        s_i = gm_i[i] * (ui_mean + uoff_i[i])
        g_e = s_e * k_coba_e[i]
        g_i = s_i * k_coba_i[i]
        x = rng[i]
        x = x ^ (x << 13)
        x = x ^ (x >> 17)
        x = x ^ (x << 5)
        rng[i] = x
        rand = <float>(<int>(x >> 8)) * 5.9604645e-08 - 0.5
        exp_term = i_t[i] * expf(fminf((v0 - v_t[i]) * inv_d_t[i], EXP_ARG_MAX))
        g_tot = fmaxf(g_leak[i] + g_e + g_i, 1e-6)
        drive = (g_leak[i] * e_leak[i] + s_e * cuba_e[i] - s_i * cuba_i[i]
                 + g_e * e_rev_e[i] + g_i * e_rev_i[i]
                 + i_offset[i] - w[i] + exp_term + rand * noise[i])
        v_inf = drive / g_tot
        decay_m = expf(-dt * g_tot * inv_c[i])
        v_full = v_inf + (v0 - v_inf) * decay_m
        v_new = fminf(fmaxf(v0 + (v_full - v0) * free, RAIL_LOW), RAIL_HIGH)

        crossed = (1.0 if v_new >= thresh else 0.0) * (1.0 if free > 0.0 else 0.0) * thresh_on[i]
        slope = v_new - v0
        slope = slope if fabsf(slope) > 1e-9 else 1e-9
        phi = fminf(fmaxf((thresh - v0) / slope, 0.0), 1.0)
        offset = dt * (1.0 - free + free * phi)
        # refractory time still left at the end of the step after this spike;
        # if negative, the neuron is released inside the step and integrates on
        left = t_ref[i] - (dt - offset)
        released = fmaxf(-left, 0.0) * inv_dt
        v_after = reset + (v_inf + (reset - v_inf) * decay_m - reset) * released

        v[i] = v_after if crossed > 0.0 else (v_new if free > 0.0 else reset)
        refr[i] = fmaxf(left, 0.0) if crossed > 0.0 else fmaxf(refr0 - dt, 0.0)
        spike_offset[i] = offset if crossed > 0.0 else -1.0

        w_inf = a[i] * (v0 - e_adapt[i])
        w[i] = w_inf + (w[i] - w_inf) * decay_w[i] + b[i] * crossed

        u_e[i] = u_e[i] * decay_e[i] + jump_e[i] * (acc_q_e[i] - acc_qd_e[i] * inv_tau_e[i])
        u_i[i] = u_i[i] * decay_i[i] + jump_i[i] * (acc_q_i[i] - acc_qd_i[i] * inv_tau_i[i])
        acc_q_e[i] = 0.0
        acc_qd_e[i] = 0.0
        acc_q_i[i] = 0.0
        acc_qd_i[i] = 0.0
    # a max-reduction in a loop of its own: inside the big loop it would
    # block vectorisation
    for i in range(n):
        latest = fmaxf(latest, spike_offset[i])
    return 1 if latest >= 0.0 else 0
