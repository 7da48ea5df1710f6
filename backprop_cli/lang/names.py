"""Names the language reserves: functions with their accepted arities, and constants.

Kept apart from ``primitives`` (which holds the numeric rules) so the parser can
import the vocabulary without importing any evaluation code.
"""

import math

# function name -> accepted argument counts
FUNCTIONS: dict[str, tuple[int, ...]] = {
    "sin": (1,), "cos": (1,), "tan": (1,),
    "asin": (1,), "acos": (1,), "atan": (1,),
    "sinh": (1,), "cosh": (1,), "tanh": (1,),
    "exp": (1,), "ln": (1,), "log": (1, 2), "log2": (1,), "log10": (1,),
    "sqrt": (1,), "abs": (1,),
    "sigmoid": (1,), "relu": (1,), "softplus": (1,),
    "pow": (2,), "min": (2,), "max": (2,),
}  # fmt: skip

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
