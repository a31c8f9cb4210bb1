/* Whether the engine was compiled with OpenMP (setup.py adds -fopenmp where the
   compiler supports it); without, the engine runs one thread. */
#ifdef _OPENMP
#define EMU_OPENMP 1
#else
#define EMU_OPENMP 0
#endif
