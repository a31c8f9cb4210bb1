"""Build of pynn-brainscales-emu: the Cython engine plus the pure-Python packages.

The hot loops are written branchless so that gcc vectorises them; that needs
-O3 -ffast-math (vector expf from glibc's libmvec).  -march=native picks the
widest vector unit of the building machine; set PYNN_BSS2_EMU_PORTABLE=1 to
build for a generic x86-64 / aarch64 instead.
"""
import os
import sys

import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

compile_args = ["-O3", "-ffast-math"]
if not os.environ.get("PYNN_BSS2_EMU_PORTABLE") and sys.platform.startswith("linux"):
    compile_args.append("-march=native")
if os.environ.get("PYNN_BSS2_EMU_VECREPORT"):
    compile_args.append("-fopt-info-vec-all")

def openmp_flag():
    """-fopenmp where the C compiler takes it (gcc, clang with libomp), else
    nothing: the engine then runs one thread."""
    import subprocess
    import tempfile
    cc = os.environ.get("CC", "cc")
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "t.c")
        with open(src, "w") as fh:
            fh.write("#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n")
        try:
            ok = subprocess.run([cc, "-fopenmp", src, "-o", os.path.join(tmp, "t")],
                                capture_output=True).returncode == 0
        except OSError:
            ok = False
    return ["-fopenmp"] if ok else []


OPENMP = openmp_flag()

common = dict(include_dirs=[numpy.get_include(), "cython_core"],
              define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
              extra_compile_args=compile_args, extra_link_args=["-lm"])

extensions = [
    # single-precision literals keep the float32 kernel in float32
    Extension("cython_core._neurons", ["cython_core/_neurons.pyx"],
              **{**common, "extra_compile_args": compile_args + ["-fsingle-precision-constant"]}),
    # OpenMP: the two hemispheres' PPU updates run in two threads (two PPUs)
    Extension("cython_core._plasticity", ["cython_core/_plasticity.pyx"],
              **{**common, "extra_compile_args": compile_args + OPENMP,
                 "extra_link_args": ["-lm"] + OPENMP}),
    Extension("cython_core._routing", ["cython_core/_routing.pyx"], **common),
    # with OpenMP, glibc declares its vector logf/sinf/cosf (libmvec), which
    # vectorise the Box-Muller loop
    Extension("cython_core._readout", ["cython_core/_readout.pyx"],
              **{**common, "extra_compile_args": compile_args + ["-fsingle-precision-constant"]
                 + OPENMP, "extra_link_args": ["-lm"] + OPENMP}),
    Extension("cython_core._synapses", ["cython_core/_synapses.pyx"],
              **{**common, "extra_compile_args": compile_args + ["-fsingle-precision-constant"]}),
    # OpenMP: the two hemispheres run in two threads when nothing couples them
    Extension("cython_core._engine", ["cython_core/_engine.pyx"],
              **{**common, "extra_compile_args": compile_args + OPENMP,
                 "extra_link_args": ["-lm"] + OPENMP}),
]

setup(
    packages=find_packages(include=["cython_core", "cython_core.*", "pynn_brainscales",
                                    "pynn_brainscales.*", "calibration", "calibration.*"]),
    package_data={"cython_core": ["*.pxd", "*.pyx", "*.h"]},
    ext_modules=cythonize(extensions, language_level=3,
                          compiler_directives={"boundscheck": False, "wraparound": False}),
    zip_safe=False,
)
