# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Greedy allocation of synapse rows to row requests (the routing's inner loop).

A request is one event source for one hemisphere: a receptor (row mode), a set
of columns and their weights, a number of parallel parts.  Each part takes the
first row that is free for it: the row's mode is unset or the request's, none
of its columns is taken yet, and its driver has an address left.  A request
with short-term plasticity takes a synapse driver of its own (both rows unused,
no address given out), because STP acts on every event the driver passes.

Occupied columns are kept as bits, 64 to a word, so that the free-row test of
a request costs four word operations per row.  Which request comes first, and
what the labels and keys mean, is the caller's business.

Also here, for preparing requests: grouping of dense integer codes by counting
(distinct_dense), tests for repeated codes and pairs (has_repeats,
pairs_repeat) and for a full grid of pairs (full_grid), and a grid's
weights transposed (transposed); for the placed synapses, their order in
memory (synapse_order).
"""
from libc.math cimport nearbyint
from libc.stdint cimport uint64_t

DEF ROWS = 256
DEF COLUMNS = 256
DEF WORDS = 4                # COLUMNS / 64
DEF ROWS_PER_DRIVER = 2
DEF ADDRESS_MAX = 63


def allocate_rows(const long[::1] hemisphere, const long[::1] row_mode,
                  const unsigned char[::1] own_driver, const long[::1] parts,
                  const long[::1] column_start, const long[::1] columns,
                  const double[::1] weights, bint integer_weights,
                  float[:, :, ::1] synapse_weights, long[:, :, ::1] synapse_labels,
                  long[:, ::1] row_modes, long[::1] part_row, long[::1] part_address,
                  const unsigned char[:, ::1] reserved=None):
    """Place requests 0..n-1 in order; request i has columns
    columns[column_start[i]:column_start[i + 1]] with `weights` alongside, and
    is split into parts[i] parallel rows (integer weights: parts differing by
    at most one, summing exactly; else equal shares).

    Writes the rows' modes, labels (the address of each used synapse) and
    weights; idle synapses of used rows get weight 0 and, where their driver
    has an address left, listen to that unused address, so that no event
    reaches them.  part_row / part_address: row and address of each part, the
    parts of request 0 first.  Returns -1, or the index of the first request
    that found no free row (nothing after it is placed).  `reserved` [2, 128]:
    drivers the caller fills itself (left alone).
    """
    cdef Py_ssize_t n = hemisphere.shape[0]
    cdef Py_ssize_t i, k, r, c, w, h, d, found, part = 0
    cdef long address, count, base, rest
    cdef double share
    cdef uint64_t bits[WORDS]
    cdef uint64_t clash
    cdef bint whole_row
    cdef uint64_t[:, :, ::1] occupied = _zeros_u64(2 * ROWS * WORDS).reshape(2, ROWS, WORDS)
    cdef long[:, ::1] next_address = _zeros_long(2 * ROWS // ROWS_PER_DRIVER).reshape(
        2, ROWS // ROWS_PER_DRIVER)
    cdef long[:, ::1] mode = _zeros_long(2 * ROWS).reshape(2, ROWS)
    cdef int failed = -1
    # per hemisphere, the first row that is not full: the rows before it take
    # no request with columns (a full-chip projection fills row after row, so
    # the search stays linear instead of quadratic)
    cdef Py_ssize_t first_open[2]
    first_open[0] = first_open[1] = 0
    if reserved is None:
        reserved = _zeros_u8(2 * ROWS // ROWS_PER_DRIVER).reshape(2, ROWS // ROWS_PER_DRIVER)
    with nogil:
        for i in range(n):
            h = hemisphere[i]
            whole_row = _whole_row(&columns[0], column_start[i], column_start[i + 1])
            if whole_row:
                for w in range(WORDS):
                    bits[w] = ~(<uint64_t>0)
            else:
                _column_bits(&columns[0], column_start[i], column_start[i + 1], bits)
            count = parts[i]
            for k in range(count):
                found = -1
                for r in range(first_open[h] if column_start[i + 1] > column_start[i] else 0,
                               ROWS):
                    d = r // ROWS_PER_DRIVER
                    if reserved[h, d]:
                        continue
                    if own_driver[i]:
                        if (r % ROWS_PER_DRIVER == 0 and mode[h, r] == 0
                                and mode[h, r + 1] == 0 and next_address[h, d] == 0):
                            found = r
                            break
                        continue
                    if next_address[h, d] > ADDRESS_MAX:
                        continue
                    if mode[h, r] != 0 and mode[h, r] != row_mode[i]:
                        continue
                    clash = 0
                    for w in range(WORDS):
                        clash |= occupied[h, r, w] & bits[w]
                    if clash == 0:
                        found = r
                        break
                if found < 0:
                    failed = i
                    break
                r = found
                d = r // ROWS_PER_DRIVER
                address = next_address[h, d]
                next_address[h, d] += 1
                mode[h, r] = row_mode[i]
                row_modes[h, r] = row_mode[i]
                for w in range(WORDS):
                    occupied[h, r, w] |= bits[w]
                if own_driver[i]:           # no other source on this driver
                    for w in range(WORDS):
                        occupied[h, r, w] = ~(<uint64_t>0)
                    next_address[h, d] = ADDRESS_MAX + 1
                while first_open[h] < ROWS and _row_full(&occupied[h, first_open[h], 0]):
                    first_open[h] += 1
                if whole_row and integer_weights and count == 1:
                    # every column in order (a full row of a grid): contiguous
                    # stores, vectorised
                    base = column_start[i]
                    for c in range(COLUMNS):
                        synapse_labels[h, r, c] = address
                        synapse_weights[h, r, c] = <float>_rint(weights[base + c])
                else:
                    for c in range(column_start[i], column_start[i + 1]):
                        if integer_weights and count == 1:
                            # one part, the common case, without integer divisions
                            share = _rint(weights[c])
                        elif integer_weights:
                            # rint: ties to even, as numpy's rint
                            base = <long>_rint(weights[c])
                            rest = base % count
                            base = base // count
                            share = base + (1.0 if k < rest else 0.0)
                        else:
                            share = weights[c] / count
                        synapse_labels[h, r, columns[c]] = address
                        synapse_weights[h, r, columns[c]] = <float>share
                part_row[part] = r
                part_address[part] = address
                part += 1
            if failed >= 0:
                break
        if failed < 0:
            for h in range(2):
                for r in range(ROWS):
                    if mode[h, r] == 0 or _row_full(&occupied[h, r, 0]):
                        continue
                    d = r // ROWS_PER_DRIVER
                    for c in range(COLUMNS):
                        if (occupied[h, r, c >> 6] >> (c & 63)) & 1:
                            continue
                        synapse_weights[h, r, c] = 0.0
                        if next_address[h, d] <= ADDRESS_MAX:
                            synapse_labels[h, r, c] = next_address[h, d]
    return failed


cdef inline bint _whole_row(const long* columns, Py_ssize_t start, Py_ssize_t stop) noexcept nogil:
    """Whether columns[start:stop] are 0..COLUMNS-1 in order (one pass that
    vectorises, where the set's bits took a branch per column)."""
    cdef long differ = 0
    cdef Py_ssize_t c
    if stop - start != COLUMNS:
        return False
    for c in range(COLUMNS):
        differ |= columns[start + c] ^ c
    return differ == 0


cdef inline bint _row_full(const uint64_t* occupied) noexcept nogil:
    """Whether a row's WORDS occupancy words have every column taken."""
    cdef int w
    for w in range(WORDS):
        if occupied[w] != ~(<uint64_t>0):
            return False
    return True


cdef inline void _column_bits(const long* columns, Py_ssize_t start, Py_ssize_t stop,
                              uint64_t* bits) noexcept nogil:
    """bits[WORDS]: the set of columns[start:stop] (0..255)."""
    # the words in registers: or-ing into an array element carries a
    # store-to-load dependency from one column to the next
    cdef uint64_t b0 = 0, b1 = 0, b2 = 0, b3 = 0, bit
    cdef long word
    cdef Py_ssize_t c
    for c in range(start, stop):
        word = columns[c] >> 6
        bit = (<uint64_t>1) << (columns[c] & 63)
        b0 |= bit if word == 0 else 0
        b1 |= bit if word == 1 else 0
        b2 |= bit if word == 2 else 0
        b3 |= bit if word == 3 else 0
    bits[0], bits[1], bits[2], bits[3] = b0, b1, b2, b3


cdef inline double _rint(double x) noexcept nogil:
    # ties to even, as numpy's rint (the default rounding mode)
    return nearbyint(x)


def _zeros_u64(Py_ssize_t n):
    import numpy
    return numpy.zeros(n, numpy.uint64)


def _zeros_u8(Py_ssize_t n):
    import numpy
    return numpy.zeros(n, numpy.uint8)


def _zeros_long(Py_ssize_t n):
    import numpy
    return numpy.zeros(n, numpy.int64)


cdef int _check_codes(const long[::1] codes, Py_ssize_t size) except -1:
    cdef Py_ssize_t i, n = codes.shape[0]
    cdef unsigned long limit = <unsigned long>size
    cdef int outside = 0
    with nogil:
        # one vectorised pass (unsigned: negative codes are outside too), the
        # search for the message only where it found one
        for i in range(n):
            outside |= <unsigned long>codes[i] >= limit
    if outside:
        for i in range(n):
            if codes[i] < 0 or codes[i] >= size:
                raise ValueError(f"code {codes[i]} at index {i} is outside 0..{size - 1}")
    return 0


def distinct_dense(const long[::1] codes, Py_ssize_t size):
    """The distinct values of integer codes in 0..size-1, in increasing order;
    the first index of each; each code's place among them.  Counting, not
    sorting: O(len(codes) + size)."""
    import numpy
    cdef Py_ssize_t n = codes.shape[0], i, v, k = 0
    cdef int r
    _check_codes(codes, size)
    seen_array = numpy.zeros(size, numpy.uint8)
    cdef unsigned char[::1] seen = seen_array
    rank_array = numpy.empty(size, numpy.int32)
    cdef int[::1] rank = rank_array
    place_array = numpy.empty(n, numpy.int64)
    cdef long[::1] place = place_array
    with nogil:
        for i in range(n):
            seen[codes[i]] = 1
        for v in range(size):
            rank[v] = k
            k += seen[v]
    values_array = numpy.empty(k, numpy.int64)
    index_array = numpy.full(k, -1, numpy.int64)
    cdef long[::1] values = values_array
    cdef long[::1] index = index_array
    with nogil:
        for v in range(size):
            if seen[v]:
                values[rank[v]] = v
        for i in range(n):
            r = rank[codes[i]]
            place[i] = r
            if index[r] < 0:
                index[r] = i
    return values_array, index_array, place_array


def group_order(const long[::1] groups, Py_ssize_t n_groups):
    """A stable order that sorts group indices 0..n_groups-1 (counting, one
    write stream per group: O(len(groups) + n_groups)), or None where they
    are in order already; and where each group's run starts in it (n_groups
    + 1 bounds)."""
    import numpy
    cdef Py_ssize_t n = groups.shape[0], i
    cdef long g, previous = 0
    cdef int unordered = 0
    _check_codes(groups, n_groups)
    starts_array = numpy.zeros(n_groups + 1, numpy.int64)
    cdef long[::1] starts = starts_array
    with nogil:
        for i in range(n):
            g = groups[i]
            starts[g + 1] += 1
            unordered |= g < previous
            previous = g
        for g in range(n_groups):
            starts[g + 1] += starts[g]
    if not unordered:
        return None, starts_array
    next_array = starts_array[:-1].copy()
    order_array = numpy.empty(n, numpy.int64)
    cdef long[::1] next_free = next_array
    cdef long[::1] order = order_array
    with nogil:
        for i in range(n):
            order[next_free[groups[i]]] = i
            next_free[groups[i]] += 1
    return order_array, starts_array


def has_repeats(const long[::1] codes, Py_ssize_t size):
    """Whether any value occurs twice among integer codes in 0..size-1 (one
    pass over a byte mask, stopping at the first repeat)."""
    import numpy
    cdef Py_ssize_t n = codes.shape[0], i
    cdef bint repeated = False
    _check_codes(codes, size)
    seen_array = numpy.zeros(size, numpy.uint8)
    cdef unsigned char[::1] seen = seen_array
    with nogil:
        for i in range(n):
            if seen[codes[i]]:
                repeated = True
                break
            seen[codes[i]] = 1
    return bool(repeated)


def synapse_order(const long[::1] hemisphere, const long[::1] row, const long[::1] column):
    """The stable order that sorts synapses, each at a distinct (hemisphere, row,
    column), into memory order (hemisphere, then row, then column), the number
    of synapses per hemisphere, and their rows and columns in that order: a
    scatter into a table of all 2 x 256 x 256 places and one pass over it."""
    import numpy
    cdef Py_ssize_t n = hemisphere.shape[0], i, place, k = 0, bad = -1
    if row.shape[0] != n or column.shape[0] != n:
        raise ValueError("hemisphere, row and column differ in length")
    if n >= 2 ** 31:
        raise ValueError(f"{n} synapses; a chip has {2 * ROWS * COLUMNS}")
    table_array = numpy.full(2 * ROWS * COLUMNS, -1, numpy.int32)
    order_array = numpy.empty(n, numpy.int64)
    counts_array = numpy.zeros(2, numpy.int64)
    rows_array = numpy.empty(n, numpy.int64)
    columns_array = numpy.empty(n, numpy.int64)
    cdef int[::1] table = table_array
    cdef long[::1] order = order_array
    cdef long[::1] counts = counts_array
    cdef long[::1] sorted_row = rows_array
    cdef long[::1] sorted_column = columns_array
    with nogil:
        for i in range(n):
            # unsigned: a negative index is out of range too
            if (<unsigned long>hemisphere[i] >= 2 or <unsigned long>row[i] >= ROWS
                    or <unsigned long>column[i] >= COLUMNS):
                bad = i
                break
            table[(hemisphere[i] * ROWS + row[i]) * COLUMNS + column[i]] = <int>i
    if bad >= 0:
        for name, values, size in (("hemisphere", hemisphere, 2), ("row", row, ROWS),
                                   ("column", column, COLUMNS)):
            try:
                _check_codes(values, size)
            except ValueError as err:
                raise ValueError(f"{name}: {err}") from None
    with nogil:
        for place in range(2 * ROWS * COLUMNS):
            if table[place] >= 0 and k < n:
                order[k] = table[place]
                counts[place // (ROWS * COLUMNS)] += 1
                sorted_row[k] = (place // COLUMNS) % ROWS
                sorted_column[k] = place % COLUMNS
                k += 1
    if k != n:
        raise ValueError(f"{n - k} synapse(s) placed where another one is")
    return order_array, counts_array, rows_array, columns_array


def full_grid(const long[::1] first, const long[::1] second, Py_ssize_t n_first,
              Py_ssize_t n_second):
    """Whether (first[i], second[i]) are every pair of 0..n_first-1 and
    0..n_second-1 once, second the slower digit: i = second * n_first + first."""
    cdef Py_ssize_t n = first.shape[0], i = 0, a, b
    cdef bint grid = n > 0 and second.shape[0] == n and n == n_first * n_second
    if not grid:
        return False
    with nogil:
        for b in range(n_second):
            for a in range(n_first):
                grid &= (first[i] == a) & (second[i] == b)
                i += 1
    return bool(grid)


def transposed(const double[:, ::1] values):
    """values.T as a new contiguous array, copied in tiles of 16 x 16 that
    stay in cache (numpy's strided copy of a full chip's 512 x 256 took
    ~0.29 ms, the tiles ~0.055 ms)."""
    import numpy
    cdef Py_ssize_t rows = values.shape[0], columns = values.shape[1]
    cdef Py_ssize_t r, c, r0, c0, r1, c1
    out_array = numpy.empty((columns, rows), numpy.float64)
    cdef double[:, ::1] out = out_array
    with nogil:
        for r0 in range(0, rows, 16):
            r1 = r0 + 16 if r0 + 16 < rows else rows
            for c0 in range(0, columns, 16):
                c1 = c0 + 16 if c0 + 16 < columns else columns
                for c in range(c0, c1):
                    for r in range(r0, r1):
                        out[c, r] = values[r, c]
    return out_array


def pairs_repeat(const long[::1] first, long first_radix, const long[::1] second,
                 long second_radix):
    """Whether any (first[i], second[i]) occurs twice, digits in 0..radix-1
    (one pass over a byte mask of first_radix x second_radix, stopping at the
    first repeat; no code array).  None where that mask would be large
    against the pairs (more than 4 per pair, plus 1024): the caller sorts."""
    import numpy
    cdef Py_ssize_t n = first.shape[0], i
    cdef long code
    cdef bint repeated = False
    if second.shape[0] != n:
        raise ValueError("first and second differ in length")
    if first_radix * second_radix > 4 * n + 1024:
        return None
    _check_codes(first, first_radix)
    _check_codes(second, second_radix)
    seen_array = numpy.zeros(first_radix * second_radix, numpy.uint8)
    cdef unsigned char[::1] seen = seen_array
    with nogil:
        for i in range(n):
            code = first[i] * second_radix + second[i]
            if seen[code]:
                repeated = True
                break
            seen[code] = 1
    return bool(repeated)
