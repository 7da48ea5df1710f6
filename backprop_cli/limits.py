"""Documented input limits (README, ``--help``). Checked before any heavy work; exceeding one is exit 2.

They admit real work: a 5 000-term sum, a 10 000-operation chain, a 2 000-statement program.
"""

MAX_SOURCE_CHARS = 1_000_000  # characters in one program (stdin programs too)
MAX_STDIN_BYTES = 1_048_576  # bytes read from `-` (stdin); more is refused, not truncated
MAX_DEPTH = 256  # nesting of parentheses, calls, unary signs and right-nested powers
MAX_NODES = 200_000  # syntax nodes (numbers, names, operations, calls) in one program
MAX_STATEMENTS = 20_000  # statements in one program
MAX_LITERAL_CHARS = 400  # characters in one numeric literal
MAX_ITER = 1_000_000  # --max-iter of solve and descend: the run keeps every row (floats) for its trace
MAX_SWEEP = 1_000  # learning rates in one --eta sweep (a list or START:STOP:COUNT): runs share memory
