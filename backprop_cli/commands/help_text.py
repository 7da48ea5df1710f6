"""Help texts: examples lead (a test runs every one verbatim), then functions and exit codes.

Rich markup is on, so square brackets in help text are escaped with a backslash.
"""

EXAMPLES: dict[str, list[str]] = {
    "grad": [
        'backprop grad "x = 2*w + b; y = b + 1; z = x*y" --at w=3,b=4',
        'backprop grad "(w*2+b)*(b+1)" --at w=3,b=4 --explain --nudge 0.1',
        'backprop grad "sin(x)*exp(y)" --at x=1,y=0 --json',
    ],
    "data": [
        "backprop data linear --n 200 --seed 0 --noise 0.1 --param w=2,b=3",
        "backprop data quadratic --n 5 --seed 1",
        "backprop data logistic --n 100 --seed 2 --output logistic.csv",
    ],
    "solve": [
        'backprop solve "(w*2+b)*(b+1)" --at w=3,b=4 --target 60 --vary b',
        "backprop solve --gradient freeze",
        'backprop solve "a*b" --at a=1,b=2 --target 8 --split gradient --json',
    ],
    "descend": [
        "backprop descend --eta 0.1 --x0 0.2",
        'backprop descend "(x - 1)^2 + 2*(y + 2)^2" --at x=0,y=0 --optimizer adam --eta 0.1',
        'backprop descend "(x - 1)^2 + 0.1" --x0 -0.8 --eta 0.1,0.4,1.0,1.1',
    ],
    "check": [
        'backprop check "x = 2*w + b; y = b + 1; z = x*y" --at w=3,b=4',
        'backprop check "sqrt(ln(x^2))" --at x=2',
    ],
    "graph": [
        "backprop graph",
        'backprop graph "(w*2+b)*(b+1)" --at w=3,b=4 --format dot',
        'backprop graph "x = 2*w + b; y = b + 1; z = x*y" --at w=3,b=4 --format mermaid',
    ],
    # (on a terminal `backprop quiz` asks node by node; these grade a sheet from stdin,
    # so they also run where nobody types: one `node = value` a line)
    "quiz": [
        "backprop quiz --answers -",
        'backprop quiz "x = 2*w + b; y = b + 1; z = x*y" --at w=3,b=4 --ask both --answers - --json',
        "backprop quiz --random --seed 7 --level 2 --answers - --json",
    ],
}

LANGUAGE = (
    "Expressions: numbers (3, 0.5, .5, 1e-3), constants pi and e, variables (ASCII "
    "letters, digits, _ and Greek letters), + - * / and power ^ or ** (right-associative, "
    "tighter than unary minus: -3^2 = -9), implicit multiplication after a number (2w, "
    "2(b+1)), statements NAME = EXPR separated by ; or newlines, in any order (the output: the one nothing reads). "
    "Functions: sin cos tan asin acos atan sinh cosh tanh exp ln log log2 log10 sqrt abs "
    "sigmoid relu softplus, log(x, base), pow(x, y), min(a, b), max(a, b). "
    "At a kink the derivative is the mean of the one-sided ones: abs'(0) = 0, relu'(0) = 0.5, "
    "min/max ties pass 0.5 to each side. Give - as EXPR to read the program from stdin; "
    "an expression that starts with - needs -- before it."
)

LIMITS = (
    "Limits, checked before any evaluation (exit 2 naming the limit): 1 000 000 characters "
    "per program, 1 MiB (1 048 576 bytes) on stdin, nesting depth 256 (parentheses, calls, "
    "unary signs and powers count), 200 000 syntax nodes, 20 000 statements, 400 characters "
    "per number literal, --max-iter 1 000 000. Numbers are float64 throughout: a literal "
    "beyond 1.8e308 is refused (exit 2), a result beyond it is an overflow (exit 1). A "
    "leading byte-order mark is ignored."
)

MANNERS = (
    "Results go to stdout; warnings, hints and errors to stderr. --json prints one strict "
    "JSON document even on errors (usage errors included). Colour only on a terminal; "
    "NO_COLOR turns it off, FORCE_COLOR on. backprop --debug (or BACKPROP_DEBUG=1) shows "
    "a traceback."
)

EXIT_CODES = (
    "Exit codes: 0 success; 1 valid input but the computation failed (domain error, "
    "overflow, zero partial, diverged, oscillating, no convergence within --max-iter); "
    "2 usage or input error (bad flag or expression, invalid value, over a limit); 130 interrupted."
)


def command_help(name: str, summary: str, extra: str = "") -> str:
    """Summary, then examples (one paragraph each, so they render verbatim), then the rest."""
    parts = [summary, "Examples:"]
    parts += [f"  $ {e}" for e in EXAMPLES.get(name, [])]
    if extra:
        parts.append(extra)
    parts += [LANGUAGE, LIMITS, EXIT_CODES]
    return "\n\n".join(parts)


MAIN = "\n\n".join(
    [
        "Solve and trace backpropagation and gradient descent: every forward value and "
        "every backward partial, as tables, pictures or JSON.",
        "Examples:",
        '  $ backprop grad "x = 2*w + b; y = b + 1; z = x*y" --at w=3,b=4',
        '  $ backprop solve "(w*2+b)*(b+1)" --at w=3,b=4 --target 60 --vary b',
        "  $ backprop descend --eta 0.1 --x0 0.2",
    ]
)

EPILOG = "\n\n".join([EXIT_CODES, LIMITS, MANNERS])

#: --step on grad, and on solve/descend (after the run, per iteration)
STEP_HELP = (
    "On a terminal: the forward pass node by node, then the backward pass; Enter or Space "
    "next, b back, q stop."
)
RUN_STEP_HELP = (
    "On a terminal, after the run: each iteration's forward and backward pass node by node, "
    "then its update; Enter or Space next, b back, q stop."
)
