"""The one place generated Python runs: compile the source, check the code object, execute.

Every generator hands :func:`run_generated` its source text, the namespace it will run in
and its kind: codegen's ``scalar``, ``array`` and ``dict`` functions, the accelerated
``descend`` chunk loops and their ``interval`` proofs, the tuned emitter's template
``format`` functions, syntax's slot-filling ``init``. Before anything runs, the compiled
module and the code objects nested in its constants are checked against the kind's
:class:`Vocabulary`, an allow-list of what that generator emits:

* **opcodes**: a short list per kind (no imports, nested functions or lambdas, class
  bodies, ``global``, ``del``, f-strings outside the format kind …); the module level
  only defines the kind's functions, each stored under its own name;
* **names**: locals and parameters follow the kind's naming scheme (``a0``, ``v12``,
  ``g3``, ``_tol`` …); a global is a name the namespace binds, one of the few builtins the
  kind lists or, for interval proofs only, a helper the proof is meant to fail on by name;
  no name starts with ``__`` (two exceptions, both kept to the exact shape the generators
  still write: ``Vocabulary.class_test`` and the syntax kind's ``__init__``);
* **attributes**: the kind's explicit list, nothing else (no kind lists one today);
* **constants**: numbers, None, bools, the kind's strings, tuples of those; code objects
  only at module level, and only for the kind's functions.

The check reads the code object, not the syntax tree: a ``bytes.translate`` of the opcodes,
``find`` calls for the rare attribute opcodes, set lookups for the names and one regular
expression over the local names, all of it far cheaper than an ``ast`` walk of the source (numbers in benchmarks/README.md, "One checked place for generated code").
What passes runs with ``__builtins__`` cut down to the kind's builtins, so the check and
the run agree on every name.

A refusal raises :class:`GeneratedCodeError`: a bug in a generator, never the user's
doing. User names reach generated code only as values bound in its namespace.
"""

from __future__ import annotations

import builtins as _builtins
import dis
import functools
import inspect
import re
from collections.abc import Mapping
from types import CodeType

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (as in __init__)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["GeneratedCodeError", "VOCABULARIES", "Vocabulary", "check", "run_generated"]


class GeneratedCodeError(RuntimeError):
    """Generated code failed its check before running: a bug in our generator."""


def _ops(*names: str) -> frozenset[int]:
    """Opcode numbers of ``names``; names this Python lacks are skipped, so one list serves
    3.11 (PRECALL, POP_JUMP_FORWARD_IF_FALSE …), 3.12 (RETURN_CONST, END_FOR …) and 3.13
    (TO_BOOL, CALL_KW, LOAD_FAST_LOAD_FAST …). Pseudo-opcodes (≥ 256) never reach co_code."""
    return frozenset(dis.opmap[n] for n in names if dis.opmap.get(n, 256) < 256)


# -- opcodes, by what the generated code does ------------------------------------------

#: the module level: defining the generated functions (defaults read from the namespace)
_MODULE = _ops(
    "CACHE", "EXTENDED_ARG", "NOP", "RESUME", "LOAD_CONST", "LOAD_NAME", "BUILD_TUPLE",
    "MAKE_FUNCTION", "SET_FUNCTION_ATTRIBUTE", "STORE_NAME", "RETURN_VALUE", "RETURN_CONST",
)  # fmt: skip
#: straight-line arithmetic on locals, calls of helpers, tuples, return
_STRAIGHT = _ops(
    "CACHE", "EXTENDED_ARG", "NOP", "RESUME", "POP_TOP", "COPY", "SWAP", "PUSH_NULL",
    "LOAD_CONST", "LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_FAST_LOAD_FAST", "STORE_FAST",
    "STORE_FAST_LOAD_FAST", "STORE_FAST_STORE_FAST", "LOAD_GLOBAL",
    "BINARY_OP", "UNARY_NEGATIVE", "PRECALL", "CALL", "BUILD_TUPLE",
    "RETURN_VALUE", "RETURN_CONST",
)  # fmt: skip
#: if / and / or / not, conditional expressions, comparisons (chained ones too)
_CONDITIONAL = _ops(
    "COMPARE_OP", "IS_OP", "UNARY_NOT", "TO_BOOL",
    "POP_JUMP_FORWARD_IF_FALSE", "POP_JUMP_FORWARD_IF_TRUE", "POP_JUMP_BACKWARD_IF_FALSE",
    "POP_JUMP_BACKWARD_IF_TRUE", "POP_JUMP_IF_FALSE", "POP_JUMP_IF_TRUE",
    "JUMP_IF_FALSE_OR_POP", "JUMP_IF_TRUE_OR_POP", "JUMP_FORWARD", "JUMP_BACKWARD",
)  # fmt: skip
#: try / except (a class or a tuple of classes)
_TRY = _ops("PUSH_EXC_INFO", "POP_EXCEPT", "CHECK_EXC_MATCH", "RERAISE", "JUMP_BACKWARD_NO_INTERRUPT")
#: while / for over a list, tuple unpacking
_LOOP = _ops("GET_ITER", "FOR_ITER", "END_FOR", "UNPACK_SEQUENCE")
#: subscripts and slices, list and dict displays
_CONTAINERS = _ops("BINARY_SUBSCR", "BUILD_SLICE", "BINARY_SLICE", "BUILD_LIST", "BUILD_MAP")
#: ``with _errstate(divide="raise", …)`` and ``raise FloatingPointError``
_WITH = _ops("BEFORE_WITH", "WITH_EXCEPT_START", "KW_NAMES", "CALL_KW", "RAISE_VARARGS")
#: f-strings (``FORMAT_SIMPLE`` from 3.13): the format kind's whole job
_FORMAT_STRING = _ops("FORMAT_VALUE", "FORMAT_SIMPLE", "BUILD_STRING")
#: how CPython builds a tuple, call or dict display of more than ~30 items (a point of 40
#: variables): a list turned into a tuple (LIST_TO_TUPLE, 3.12+ as an intrinsic: see
#: _INTRINSICS), a call with its arguments in that tuple, a dict filled in pieces
_BIG_DISPLAYS = _ops(
    "BUILD_LIST", "LIST_APPEND", "LIST_EXTEND", "LIST_TO_TUPLE", "CALL_INTRINSIC_1",
    "CALL_FUNCTION_EX", "BUILD_MAP", "MAP_ADD", "DICT_UPDATE",
)  # fmt: skip
#: attribute reads and writes (which attributes: each kind's ``attributes``)
_LOAD_ATTRIBUTE = _ops("LOAD_ATTR", "LOAD_METHOD")
_STORE_ATTRIBUTE = _ops("STORE_ATTR")
_ATTRIBUTE_OPS = _LOAD_ATTRIBUTE | _STORE_ATTRIBUTE
_MODULE_BYTES = bytes(sorted(_MODULE))
#: the one intrinsic function allowed (3.12+): CALL_INTRINSIC_1's argument must name it
_CALL_INTRINSIC_1 = dis.opmap.get("CALL_INTRINSIC_1", -1)
_INTRINSICS = frozenset(
    k for k, name in enumerate(getattr(dis, "_intrinsic_1_descs", ())) if name == "INTRINSIC_LIST_TO_TUPLE"
)

# -- what the check reads in co_code ----------------------------------------------------

_LOAD_GLOBAL = dis.opmap["LOAD_GLOBAL"]
_LOAD_ATTR = dis.opmap["LOAD_ATTR"]
_EXTENDED_ARG = dis.opmap["EXTENDED_ARG"]
_CACHE = dis.opmap["CACHE"]
_IS_OP = dis.opmap["IS_OP"]
_STORE_NAME = dis.opmap["STORE_NAME"]
_MAKE_FUNCTION = dis.opmap["MAKE_FUNCTION"]
_LOAD_CONST = dis.opmap["LOAD_CONST"]
#: units the module-level reading passes over: caches, prefixes, defaults set on a made function
_SKIP = _ops("CACHE", "EXTENDED_ARG", "SET_FUNCTION_ATTRIBUTE")
#: reads of a local (3.13 fuses a store or a load with the next load; the value loaded
#: last, the attribute's object, is a local either way)
_READ_LOCAL = _ops("LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_FAST_LOAD_FAST", "STORE_FAST_LOAD_FAST")


def _attr_shift() -> int:
    """How far LOAD_ATTR's argument is shifted from its co_names index: 0 on 3.11, 1 from
    3.12 on (the low bit says "method"). Read off a compiled ``x.a.b``, not the version."""
    code = compile("def f(x):\n    return x.a.b\n", "<probe>", "exec").co_consts[0]
    units = code.co_code
    args = [units[i + 1] for i in range(0, len(units), 2) if units[i] == _LOAD_ATTR]
    if code.co_names != ("a", "b") or len(args) != 2 or args[0] > 1:  # pragma: no cover
        raise ImportError("this Python's LOAD_ATTR is not understood by backprop's check")
    return 0 if args[1] == 1 else 1


_ATTR_SHIFT = _attr_shift()
_BAD_FLAGS = (
    inspect.CO_VARARGS | inspect.CO_VARKEYWORDS | inspect.CO_GENERATOR | inspect.CO_COROUTINE
    | inspect.CO_ASYNC_GENERATOR | inspect.CO_ITERABLE_COROUTINE | inspect.CO_NESTED
)  # fmt: skip
_NUMBERS = frozenset({int, float, bool, type(None)})


class Vocabulary:
    """What one generator emits (the module docstring says how each field is checked).

    A plain class: this module is imported at start-up (by lang.syntax), where a
    dataclass would cost more to create than every check made there.
    """

    __slots__ = ("name", "functions", "locals", "opcodes", "builtins", "attributes",
                 "strings", "unbound", "class_test", "_opcode_bytes", "_builtins", "_locals")  # fmt: skip

    def __init__(
        self,
        name: str,
        functions: frozenset[str],
        locals: str,
        opcodes: frozenset[int],
        *,
        builtins: frozenset[str] = frozenset(),
        attributes: frozenset[str] = frozenset(),
        strings: frozenset[str] = frozenset(),
        unbound: frozenset[str] = frozenset(),
        class_test: bool = False,
    ) -> None:
        self.name = name
        #: the functions its module level defines: the names its caller reads back
        self.functions = functions
        #: every local and parameter fully matches this regular expression
        self.locals = locals
        self.opcodes = opcodes
        self.builtins = builtins
        self.attributes = attributes
        self.strings = strings
        #: global names allowed although the namespace does not bind them (a NameError
        #: when the code runs is then the generator's intended answer)
        self.unbound = unbound
        #: accept ``<local>.__class__ is [not] _float``, the exact-float test of the scalar
        #: template: the one use of ``__class__`` allowed, and only in that shape (the
        #: class goes straight into ``is``; it is never a value of its own)
        self.class_test = class_test
        self._opcode_bytes = bytes(sorted(opcodes))
        self._builtins = {b: getattr(_builtins, b) for b in builtins}
        self._locals: re.Pattern[str] | None = None  # compiled on first use

    def locals_match(self, names: tuple[str, ...]) -> bool:
        """Whether every one of ``names`` fully matches :attr:`locals` (one regex pass)."""
        if self._locals is None:
            self._locals = re.compile(rf"(?:(?:{self.locals})\n)*")
        return self._locals.fullmatch("\n".join(names) + "\n") is not None


#: arguments, node values and adjoints, as codegen.emit names them
_NUMBERED = r"[avg][0-9]+"
#: what codegen.scalar_helpers binds; an interval proof runs without them on purpose (a
#: body calling one fails by name: no proof). tests/compiler/test_execute.py keeps the two equal.
HELPER_NAMES = frozenset(
    {f"_{h}" for h in (
        "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "exp", "log",
        "log2", "log10", "sqrt", "fabs", "sign", "step", "less", "sigmoid", "softplus",
        "pow", "pow_dx", "pow_dy", "minimum", "maximum",
    )} | {"_LN2", "_LN10"}
)  # fmt: skip

#: one vocabulary per generator, under the name its caller passes to :func:`run_generated`
VOCABULARIES: dict[str, Vocabulary] = {
    v.name: v
    for v in (
        Vocabulary(  # compiler.codegen.build_functions: the float function
            "scalar", frozenset({"_f"}), rf"{_NUMBERED}|_s",
            _STRAIGHT | _CONDITIONAL | _TRY | _BIG_DISPLAYS | _LOAD_ATTRIBUTE,
            builtins=frozenset({"ArithmeticError", "ValueError", "TypeError"}),
            class_test=True,
        ),
        Vocabulary(  # compiler.codegen.build_functions: the numpy function
            "array", frozenset({"_array_f"}), rf"{_NUMBERED}|_c",
            _STRAIGHT | _CONDITIONAL | _TRY | _BIG_DISPLAYS | _WITH,
            builtins=frozenset({"ArithmeticError", "ValueError", "FloatingPointError"}),
            strings=frozenset({"divide", "over", "invalid", "under", "raise", "ignore"}),
        ),
        Vocabulary(  # compiler.codegen.build_dict_function
            "dict", frozenset({"_vg"}), r"_v|_a[0-9]+|_g[0-9]+|_z|_",
            _STRAIGHT | _CONDITIONAL | _TRY | _LOOP | _CONTAINERS | _BIG_DISPLAYS,
            builtins=frozenset({"KeyError", "TypeError", "len"}),
        ),
        Vocabulary(  # accel.descend._interval_function: emit's body; a branch (which
            # emit never writes) is let through: the interval arithmetic refuses it itself
            "interval", frozenset({"_ivf"}), _NUMBERED, _STRAIGHT | _CONDITIONAL | _BIG_DISPLAYS,
            unbound=HELPER_NAMES,
        ),
        Vocabulary(  # accel.descend._generate_chunk
            "descend", frozenset({"_chunk"}),
            rf"{_NUMBERED}|_eta|_tol|_ntol|_lo|_hi|_k0|_k|_stop|_end|_ex[0-9]+|_u[0-9]+"
            r"|_v[0-9]+|_r[0-9]+_[0-9]+",
            _STRAIGHT | _CONDITIONAL | _TRY | _LOOP | _BIG_DISPLAYS,
            builtins=frozenset({"Exception"}),
        ),
        Vocabulary(  # accel.emit._formatter: one template of the primitive table as an
            # f-string of names (its literal pieces are strings bound in the namespace)
            "format", frozenset({"_fmt"}), r"out|a|b", _STRAIGHT | _FORMAT_STRING,
        ),
        Vocabulary(  # lang.syntax.cheap_init, at import: fields of our own dataclasses
            "init", frozenset({"__init__"}), r"self|[a-z][a-z0-9_]*", _STRAIGHT,
        ),
    )
}


def run_generated(source: str, namespace: dict[str, Any], kind: str) -> dict[str, Any]:
    """Compile ``source``, check it against the vocabulary of ``kind``, run it in
    ``namespace`` and return the namespace, which now holds the defined functions.

    Raises :class:`GeneratedCodeError`, with nothing run, when the check refuses it.
    """
    vocabulary = VOCABULARIES[kind]
    code = compile(source, f"<backprop:{kind}>", "exec")
    check(code, namespace, vocabulary)
    namespace.setdefault("__builtins__", vocabulary._builtins)
    exec(code, namespace)  # checked above: the package's one exec of generated code
    return namespace


def check(code: CodeType, namespace: Mapping[str, Any], vocabulary: Vocabulary) -> None:
    """Raise :class:`GeneratedCodeError` unless ``code`` (a module compiled from generated
    source) and every code object nested in it use only ``vocabulary``."""
    problem = _module_problem(code, namespace, vocabulary)
    if problem is not None:
        raise GeneratedCodeError(
            f"generated {vocabulary.name} code refused (a bug in its generator): {problem}"
        )


def _module_problem(code: CodeType, namespace: Mapping[str, Any], voc: Vocabulary) -> str | None:
    """The module level: each statement stores one of the kind's functions under its own
    name (defaults read from names the namespace binds); then the functions themselves."""
    where = "at module level"
    refused = code.co_code[::2].translate(None, _MODULE_BYTES)
    if refused:
        return _opcode_problem(code, set(refused), where)
    for name in code.co_names:
        if name not in voc.functions and (name[:2] == "__" or name not in namespace):
            return f"name {name!r} {where}"
    if code.co_varnames or code.co_cellvars or code.co_freevars:
        return f"local name {(code.co_varnames + code.co_cellvars + code.co_freevars)[0]!r} {where}"
    # a handful of instructions: each STORE_NAME must follow LOAD_CONST <code of a
    # function of that name>, MAKE_FUNCTION (and, 3.13, SET_FUNCTION_ATTRIBUTE)
    units = code.co_code
    ins = [(units[at], _arg(units, at)) for at in range(0, len(units), 2) if units[at] not in _SKIP]
    for k, (op, arg) in enumerate(ins):
        if op == _STORE_NAME:
            name = code.co_names[arg]
            made, loaded = ins[k - 1], ins[k - 2]
            if (
                made[0] != _MAKE_FUNCTION
                or loaded[0] != _LOAD_CONST
                or getattr(code.co_consts[loaded[1]], "co_name", None) != name
            ):
                return f"name {name!r} stored without defining it {where}"
    for const in code.co_consts:
        if type(const) is CodeType:
            if const.co_name not in voc.functions:
                return f"a function named {const.co_name!r} {where}"
            problem = _function_problem(const, namespace, voc)
        else:
            problem = _constant_problem(const, voc, where)
        if problem is not None:
            return problem
    return None


def _function_problem(code: CodeType, namespace: Mapping[str, Any], voc: Vocabulary) -> str | None:
    """One generated function: opcodes, flags, locals, globals, attributes, constants."""
    where = f"in {code.co_name}"
    units = code.co_code
    ops = units[::2]  # one byte per code unit: every opcode, and CACHE (0) for the caches
    refused = ops.translate(None, voc._opcode_bytes)  # what is left is not allowed
    if refused:
        return _opcode_problem(code, set(refused), where)
    i = ops.find(_CALL_INTRINSIC_1) if _CALL_INTRINSIC_1 >= 0 else -1
    while i >= 0:  # 3.12+: only the list-to-tuple intrinsic of a big tuple display
        if _arg(units, 2 * i) not in _INTRINSICS:
            return f"opcode CALL_INTRINSIC_1 ({_arg(units, 2 * i)}) {where}"
        i = ops.find(_CALL_INTRINSIC_1, i + 1)
    if code.co_flags & _BAD_FLAGS:
        return f"code flags {code.co_flags:#x} (*args, **kwargs, generator or closure) {where}"
    if code.co_cellvars or code.co_freevars:
        return f"closure variable {(code.co_cellvars + code.co_freevars)[0]!r} {where}"
    local_names = code.co_varnames
    if local_names and not voc.locals_match(local_names):
        bad = next(n for n in local_names if not voc.locals_match((n,)))
        return f"local name {bad!r} {where}"
    # LOAD_GLOBAL and the attribute opcodes are the only ones allowed here that name an
    # entry of co_names; attribute opcodes are rare, so they are found one by one, and
    # every other name is a global
    names = code.co_names
    attributes = _attribute_uses(units, ops, names)
    for name in names:
        uses = attributes.get(name)
        if uses is not None:
            if name not in voc.attributes and not (
                name == "__class__" and voc.class_test and _class_tests_only(units, names, uses)
            ):
                return f"attribute {name!r} {where}"
            if not _reads_global(code, names.index(name)):
                continue  # an attribute only
        if name[:2] == "__":
            return f"name {name!r} {where}"
        if name not in namespace and name not in voc.builtins and name not in voc.unbound:
            return f"global name {name!r} (not bound in its namespace) {where}"
    consts = code.co_consts
    if not set(map(type, consts)) <= _NUMBERS:
        for const in consts:
            if type(const) is CodeType:
                return f"a function inside a generated function ({const.co_name!r}) {where}"
            problem = _constant_problem(const, voc, where)
            if problem is not None:
                return problem
    return None


def _constant_problem(const: object, voc: Vocabulary, where: str) -> str | None:
    if type(const) in _NUMBERS or (type(const) is str and const in voc.strings):
        return None
    if type(const) is tuple:
        for item in const:
            problem = _constant_problem(item, voc, where)
            if problem is not None:
                return problem
        return None
    return f"constant {const!r:.80} {where}"


def _opcode_problem(code: CodeType, refused: set[int], where: str) -> str:
    """Name the first refused opcode and its line (dis decodes: this is the error path)."""
    for ins in dis.get_instructions(code):
        if ins.opcode in refused:
            line = ins.positions.lineno if ins.positions else None
            return f"opcode {ins.opname} ({ins.argrepr or 'no argument'}) at line {line} {where}"
    return f"opcode {dis.opname[min(refused)]} {where}"  # pragma: no cover - found above


def _attribute_uses(units: bytes, ops: bytes, names: tuple[str, ...]) -> dict[str, list[int]]:
    """Attribute name -> byte offsets of the LOAD_ATTR / LOAD_METHOD / STORE_ATTR naming
    it (``ops.find`` passes over everything else in C)."""
    uses: dict[str, list[int]] = {}
    for op in _ATTRIBUTE_OPS:
        shift = _ATTR_SHIFT if op == _LOAD_ATTR else 0
        i = ops.find(op)
        while i >= 0:
            uses.setdefault(names[_arg(units, 2 * i) >> shift], []).append(2 * i)
            i = ops.find(op, i + 1)
    return uses


def _reads_global(code: CodeType, index: int) -> bool:
    """Whether a LOAD_GLOBAL reads ``co_names[index]`` (its argument: index·2 + a bit)."""
    if index > 127:  # an EXTENDED_ARG prefix: let dis decode
        return any(i.opcode == _LOAD_GLOBAL and i.arg is not None and i.arg >> 1 == index
                   for i in dis.get_instructions(code))  # fmt: skip
    units = code.co_code
    pattern = _global_read(index)
    for found in pattern.finditer(units):  # a regular expression finds the opcode byte fast
        at = found.start()
        if at % 2 == 0 and (at == 0 or units[at - 2] != _EXTENDED_ARG):
            return True  # an opcode (not an argument byte before one), unprefixed
    return False


@functools.lru_cache(maxsize=128)
def _global_read(index: int) -> re.Pattern[bytes]:
    return re.compile(re.escape(bytes((_LOAD_GLOBAL,))) + b"[" + re.escape(bytes((2 * index, 2 * index + 1))) + b"]")


def _class_tests_only(units: bytes, names: tuple[str, ...], uses: list[int]) -> bool:
    """Every use of ``__class__`` (at byte offsets ``uses``) is ``<local>.__class__ is
    [not] _float``: a LOAD_ATTR right after a read of a local, then ``_float``, then ``is``."""
    for at in uses:
        if units[at] != _LOAD_ATTR:
            return False  # a STORE_ATTR or LOAD_METHOD of it
        before = _previous(units, at)
        if before < 0 or units[before] not in _READ_LOCAL:
            return False
        after = _next(units, at)
        if after < 0 or units[after] != _LOAD_GLOBAL or names[_arg(units, after) >> 1] != "_float":
            return False
        then = _next(units, after)
        if then < 0 or units[then] != _IS_OP:
            return False
    return True


def _arg(units: bytes, at: int) -> int:
    """The argument of the instruction at byte ``at``, its EXTENDED_ARG prefixes included."""
    arg, shift, j = units[at + 1], 8, at - 2
    while j >= 0 and units[j] == _EXTENDED_ARG:
        arg |= units[j + 1] << shift
        shift, j = shift + 8, j - 2
    return arg


def _previous(units: bytes, at: int) -> int:
    """Byte offset of the instruction before the one at ``at`` (prefixes and caches
    skipped), or -1."""
    j = at - 2
    while j >= 0 and units[j] == _EXTENDED_ARG:
        j -= 2
    while j >= 0 and units[j] == _CACHE:
        j -= 2
    return j


def _next(units: bytes, at: int) -> int:
    """Byte offset of the instruction after the one at ``at`` (caches and prefixes
    skipped), or -1."""
    j = at + 2
    while j < len(units) and units[j] == _CACHE:
        j += 2
    while j < len(units) and units[j] == _EXTENDED_ARG:
        j += 2
    return j if j < len(units) else -1
