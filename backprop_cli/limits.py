"""Documented input limits (README, ``--help``). Checked before any heavy work; exceeding one is exit 2.

They admit real work: a 5 000-term sum, a 10 000-operation chain, a 2 000-statement program.
The data limits are set together: whatever ``backprop data`` can write (``--n`` up to
MAX_DATA_ROWS rows of two columns), ``--data`` can read.
"""

MAX_SOURCE_CHARS = 1_000_000  # characters in one program (stdin programs too)
MAX_STDIN_BYTES = 1_048_576  # bytes read from `-` (stdin); more is refused, not truncated
MAX_DEPTH = 256  # nesting of parentheses, calls, unary signs and right-nested powers
MAX_NODES = 200_000  # syntax nodes (numbers, names, operations, calls) in one program
MAX_STATEMENTS = 20_000  # statements in one program
MAX_LITERAL_CHARS = 400  # characters in one numeric literal
MAX_ITER = 1_000_000  # --max-iter of solve and descend: the run keeps every row (floats) for its trace
MAX_SWEEP = 1_000  # learning rates in one --eta sweep (a list or START:STOP:COUNT): runs share memory

# -- data files (--data; later --init): checked while reading, before the data is kept --
MAX_DATA_ROWS = 10_000_000  # data rows of one data set; also `backprop data --n`
MAX_DATA_VALUES = 20_000_000  # numbers (rows × columns) in one file: 160 MB of float64, two
#                               columns of MAX_DATA_ROWS — what `backprop data` can write
MAX_DATA_COLUMNS = 10_000  # columns of a CSV header, fields of a .npy, arrays of an .npz
MAX_DATA_BYTES = 1_073_741_824  # bytes read from one data file (1 GiB; a pipe is counted too)
MAX_LINE_CHARS = 1_048_576  # characters in one line of a CSV file
MAX_NPY_HEADER = 65_536  # bytes of one .npy header (shape and dtype, read before any data)
MAX_ZIP_DIRECTORY = 16_777_216  # bytes of an .npz file's zip directory (16 MiB)
