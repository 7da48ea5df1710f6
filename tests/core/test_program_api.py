"""The Program API (issue 6): value_and_grad's generated wrapper (built once, irregular
input explained) and which statements an output evaluates.
"""

from __future__ import annotations

import pytest

import backprop_cli
from backprop_cli.engines.check import check
from backprop_cli.errors import InputError


def test_value_and_grad_matches_the_interpreter_and_is_built_once():
    p = backprop_cli.compile("x = 2*w + b; y = b + 1; z = x*y")
    early = p.value_and_grad  # bound before the first call: must not rebuild per call
    assert early({"w": 3.0, "b": 4.0}) == (50.0, {"w": 10.0, "b": 15.0})
    built = p._vg
    assert early({"w": 3, "b": 4}) == (50.0, {"w": 10.0, "b": 15.0})  # ints are fine
    assert p._vg is built
    assert p.value_and_grad({"b": 0.5, "w": -1.0}) == (-2.25, {"w": 3.0, "b": 0.0})
    assert p._vg is built
    t = p.trace({"w": 1.5, "b": -2.0})
    value, grad = p.value_and_grad({"w": 1.5, "b": -2.0})
    assert value == t.value
    assert grad == {"w": t.adjoints[p.graph.names["w"]], "b": t.adjoints[p.graph.names["b"]]}


@pytest.mark.parametrize(
    "values, message",
    [({"w": 3.0}, "no value for variable b"), ({"w": 3.0, "b": 4.0, "c": 1.0}, "'c' is not a variable")],
)
def test_value_and_grad_irregular_input_is_explained(values, message):
    p = backprop_cli.compile("(w*2+b)*(b+1)")
    p.value_and_grad({"w": 1.0, "b": 1.0})
    with pytest.raises(InputError, match=message):
        p.value_and_grad(values)


def test_value_and_grad_without_variables():
    assert backprop_cli.compile("2^3").value_and_grad({}) == (8.0, {})


def test_dead_and_later_statements_are_not_evaluated():
    """A statement the output does not use cannot fail it (interpreter == compiled)."""
    p = backprop_cli.compile("y = x + 1; z = ln(x)", output="y")
    assert p.trace({"x": -1.0}).value == 0.0
    assert p.value_and_grad({"x": -1.0}) == (0.0, {"x": 1.0})
    assert p.forward_gradient({"x": -1.0}) == {"x": 1.0}
    assert check(p, {"x": -1.0}).ok
    q = backprop_cli.compile("unused = sqrt(x); out = 2*x")
    assert q.trace({"x": -1.0}).value == -2.0
    assert q.value_and_grad({"x": -1.0}) == (-2.0, {"x": 2.0})


# -- values: numbers only, checked at every dict-taking entry point (issue 19) ----------------

LESSON = "x = 2*w + b; y = b + 1; z = x*y"


ENTRY_POINTS = [
    "value_and_grad",
    "trace",
    "interpreted_value_and_grad",
    "forward_gradient",
    "hessian",
    "forward_tangents",
    "point",  # what engines check their start dicts with
]


def _entry_points(p):
    """Every entry point that takes a dict of values, by name."""
    calls = {name: (lambda at, name=name: getattr(p, name)(at)) for name in ENTRY_POINTS}
    calls["forward_tangents"] = lambda at: p.forward_tangents(at, "w")
    return calls


def _not_numbers():
    import numpy as np

    return [
        (True, "a bool"),
        (False, "a bool"),
        (np.True_, "a bool"),
        (None, "None"),
        ("nan", "a str"),
        ("3", "a str"),
        (b"3", "a bytes"),
        (1j, "a complex number"),
        ({1: 2}, "a dict"),
        ({1.0, 2.0}, "a set"),
        (object(), "an object"),
        (np.array([True, False]), "an array of bools"),
        (np.array(["1.5"]), "an array of strings"),
        (np.array([1 + 1j]), "an array of complex numbers"),
        (np.array([1.0, None], dtype=object), "holds None"),
        ([1.0, None], "holds None"),
        ([[1.0, 2.0], [3.0]], "not an array of numbers"),
    ]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("name", ["w", "b"])  # the first variable, and a later one
def test_a_value_that_is_not_a_number_is_refused_naming_the_variable(entry, name):
    from backprop_cli.errors import BackpropError, InputTypeError

    p = backprop_cli.compile(LESSON)
    p.value_and_grad({"w": 3.0, "b": 4.0})  # the generated wrapper exists: it checks too
    call = _entry_points(p)[entry]
    for bad, what in _not_numbers():
        at = {"w": 3.0, "b": 4.0, name: bad}
        with pytest.raises(InputTypeError) as caught:
            call(at)
        err = caught.value
        assert isinstance(err, BackpropError) and isinstance(err, TypeError)
        assert err.exit_code == 2 and err.variable == name
        assert str(err).startswith(f"'{name}'") and what in str(err), (bad, str(err))


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_number_beyond_float64_is_the_package_overflow_error(entry):
    from decimal import Decimal
    from fractions import Fraction

    import numpy as np

    from backprop_cli.errors import InputError, InputOverflowError

    p = backprop_cli.compile(LESSON)
    call = _entry_points(p)[entry]
    for huge in (10**400, -(10**400), Fraction(10**400, 3), Decimal("1e400"), [1.0, 10**400],
                 np.array([1e300], dtype=np.longdouble) * 1e300):  # fmt: skip
        with pytest.raises(InputOverflowError) as caught:
            call({"w": 3.0, "b": huge})
        err = caught.value
        assert isinstance(err, InputError) and isinstance(err, OverflowError)
        assert err.variable == "b" and "'b'" in str(err) and "float64 range" in str(err)


def test_numbers_of_every_kind_give_the_float_answer_everywhere():
    from decimal import Decimal
    from fractions import Fraction

    import numpy as np

    p = backprop_cli.compile(LESSON)
    want = p.value_and_grad({"w": 3.0, "b": 4.0})
    kinds = [3, np.float64(3.0), np.float32(3.0), np.int64(3), Fraction(3), Decimal("3")]
    for w in kinds:
        for name, call in _entry_points(p).items():
            assert call({"w": w, "b": 4}) is not None, name
        assert p.value_and_grad({"w": w, "b": 4}) == want, w
        assert p.interpreted_value_and_grad({"w": w, "b": 4}) == want, w
        t = p.trace({"w": w, "b": 4})
        assert all(type(v) is float for v in t.values), w  # converted once, at the door
    # arrays of numbers (and lists of them) broadcast, on every path
    for ws in ([1.0, 3.0], (1, 3), np.array([1, 3]), np.array([1.0, 3.0], dtype=np.float32)):
        value, grad = p.value_and_grad({"w": ws, "b": 4.0})
        assert list(value) == [30.0, 50.0] and list(grad["b"]) == [11.0, 15.0]
        t_value, t_grad = p.interpreted_value_and_grad({"w": ws, "b": 4.0})
        assert list(t_value) == [30.0, 50.0] and list(t_grad["b"]) == [11.0, 15.0]


def test_values_that_are_not_a_mapping_are_refused():
    from backprop_cli.errors import InputTypeError

    p = backprop_cli.compile(LESSON)
    for values in ([3.0, 4.0], (3.0, 4.0), "w=3", None, 3.0):
        for name, call in _entry_points(p).items():
            with pytest.raises(InputTypeError, match="values must be a mapping"):
                call(values)
    with pytest.raises(InputTypeError, match="variable names are strings"):
        p.trace({"w": 3.0, "b": 4.0, 1: 2.0})


def test_the_positional_function_raises_the_package_errors_naming_the_variable():
    """The fast path stays one call for floats; anything it cannot take surfaces as the
    package's error (from the checks behind its own type test), never a bare TypeError,
    OverflowError or a NaN result."""
    import numpy as np

    from backprop_cli.errors import InputOverflowError, InputTypeError

    p = backprop_cli.compile(LESSON)
    f, af = p.function(), p.array_function()
    assert f(3.0, 4.0) == (50.0, (10.0, 15.0))
    cases = [
        ((None, 4.0), InputTypeError, "'w' is None"),
        ((3.0, None), InputTypeError, "'b' is None"),
        (("nan", 4.0), InputTypeError, "'w' = 'nan' is a str"),
        ((3.0, "nan"), InputTypeError, "'b' = 'nan' is a str"),
        ((True, 4.0), InputTypeError, "'w' = True is a bool"),
        ((np.array([None]), 4.0), InputTypeError, "'w' = array([None], dtype=object) holds"),
        ((10**400, 4.0), InputOverflowError, "'w' = 1000"),
        ((3.0, 10**400), InputOverflowError, "'b' = 1000"),
    ]
    for args, error, message in cases:
        for g in (f, af):
            with pytest.raises(error) as caught:
                g(*args)
            assert str(caught.value).startswith(message), (args, str(caught.value))
    with pytest.raises(InputTypeError, match=r"expected 2 values \(w, b\), got 1"):
        af(3.0)


def test_arrays_through_the_dict_path_raise_no_numpy_warning():
    """A float beside an array: the float code's arithmetic would run on numpy values
    unchecked (RuntimeWarning on stderr); the dict path sends arrays through numpy's checks."""
    import warnings

    import numpy as np

    from backprop_cli.errors import DomainError

    p = backprop_cli.compile("x*y")
    q = backprop_cli.compile("atan(x*y)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DomainError):
            p.value_and_grad({"x": 1e200, "y": np.array([1e200, 1.0])})
        with pytest.raises(DomainError):
            q.value_and_grad({"x": 1e200, "y": np.array([1e200])})
        assert p.value_and_grad({"x": 2.0, "y": np.array([3.0])})[0] == np.array([6.0])


@pytest.mark.parametrize(
    "args, message",
    [
        ((None,), "compile() takes the program as a str, not None"),
        ((b"x+1",), "compile() takes the program as a str, not bytes"),
        ((bytearray(b"x+1"),), "compile() takes the program as a str, not bytearray"),
        ((3,), "compile() takes the program as a str, not int"),
        (("x+1", 3), "compile() takes output as a str (a node's name), not int"),
    ],
)
def test_compile_takes_a_str_only(args, message):
    from backprop_cli.errors import BackpropError, InputTypeError

    with pytest.raises(InputTypeError) as caught:
        backprop_cli.compile(*args)
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, BackpropError)
    assert str(caught.value) == message
    if isinstance(args[0], bytes):
        assert "decode" in caught.value.hint
