"""What the cell analysis knows and records: the libraries' vocabulary and the facts of a cell.

The vocabulary: modules, names and attributes that make every cell run, methods that only read
or that store their arguments, calls that change an argument in place, and the global random
generators a library call may draw from or seed. The facts: what one cell binds, reads and
changes (:class:`Statement`, :class:`Scope`, :class:`Cell`), as
:mod:`autograder.grading.cell_reading` records them and :mod:`autograder.grading.cell_needs`
joins them over a notebook.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

#: modules whose import makes every cell run: they reach the interpreter, the process or files.
UNSAFE_MODULES = frozenset({
    "builtins", "__builtin__", "__main__", "sys", "os", "posix", "ctypes", "gc", "inspect", "importlib",
    "types", "marshal", "pickle", "dill", "cloudpickle", "copyreg", "subprocess", "signal", "threading",
    "_thread", "multiprocessing", "concurrent", "asyncio", "atexit", "runpy", "code", "codeop", "site",
    "IPython", "ipykernel", "shutil", "pathlib", "io", "tempfile", "socket", "faulthandler", "resource",
    "mmap", "unittest", "mock", "trace", "pty", "fcntl", "glob"})
#: submodules of those that only display (safe to import).
SAFE_MODULES = frozenset({"IPython.display"})
#: names whose use makes every cell run.
UNSAFE_NAMES = frozenset({
    "exec", "eval", "compile", "globals", "locals", "vars", "__import__", "setattr", "delattr",
    "get_ipython", "__builtins__", "__builtin__", "breakpoint", "open", "__loader__", "__spec__"})
#: attributes whose use makes every cell run (introspection, frames, files).
UNSAFE_ATTRIBUTES = frozenset({
    "__dict__", "__globals__", "__code__", "__closure__", "__defaults__", "__kwdefaults__", "__builtins__",
    "__bases__", "__mro__", "__subclasses__", "__setattr__", "__delattr__", "__getattribute__", "__getattr__",
    "__import__", "__loader__", "__spec__", "__self__", "__func__", "__wrapped__", "__reduce__",
    "__reduce_ex__", "__setstate__", "__class__", "f_globals", "f_locals", "f_back", "gi_frame", "tb_frame",
    "save", "savez", "savez_compressed", "savetxt", "load", "loadtxt", "genfromtxt", "fromfile", "tofile",
    "memmap", "savefig", "to_csv", "read_csv", "open", "write_text", "write_bytes", "read_text"})
#: methods of numpy arrays, torch tensors, Python's containers and strings that only read their
#: object (a method of another name counts as changing it).
READING_METHODS = frozenset({
    "mean", "sum", "std", "var", "max", "min", "argmax", "argmin", "argsort", "prod", "cumsum", "cumprod",
    "any", "all", "nonzero", "dot", "matmul", "reshape", "view", "view_as", "permute", "transpose",
    "flatten", "ravel", "squeeze", "unsqueeze", "expand", "expand_as", "repeat", "contiguous", "copy",
    "clone", "detach", "astype", "numpy", "item", "tolist", "float", "double", "long", "int", "bool",
    "size", "dim", "numel", "type", "to", "cpu", "abs", "exp", "log", "sqrt", "clip", "clamp", "round",
    "norm", "eq", "ne", "lt", "gt", "le", "ge", "keys", "values", "items", "get", "count", "index",
    "format", "join", "split", "strip", "startswith", "endswith", "replace", "lower", "upper", "sign",
    "softmax", "log_softmax", "mm", "bmm", "t", "diagonal", "trace", "isclose", "allclose", "equal",
    "nelement", "element_size", "stride", "is_contiguous", "diff", "searchsorted", "take", "compress",
    "parameters", "named_parameters", "children", "modules", "named_modules", "buffers"})
#: methods that keep their arguments in their object (``a.append(b)``: a change through ``a`` may
#: change ``b``); other methods are taken to use their arguments only while they run.
STORING_METHODS = frozenset({
    "append", "extend", "insert", "add", "update", "setdefault", "register_buffer", "register_parameter",
    "register_module", "add_module", "add_param_group", "load_state_dict", "set", "put", "push", "appendleft",
    "extendleft", "set_data", "set_ydata", "set_xdata", "set_array"})
#: methods of Python's containers that change only their own object, not what it references
#: (``rows.append(x)`` does not change ``x``; numpy's ``a.sort()`` changes ``a``'s own data).
OWN_METHODS = frozenset({
    "append", "extend", "insert", "add", "update", "setdefault", "appendleft", "extendleft", "pop",
    "popitem", "popleft", "remove", "clear", "sort", "reverse", "discard"})
#: names of library calls that change an argument in place (besides torch's ``…_`` convention).
IN_PLACE = frozenset({"shuffle", "copyto", "put", "place", "putmask", "fill_diagonal", "step"})


class Unsure(Exception):
    """The analysis cannot follow a cell; the message says what and where."""


#: how a bound name relates to a name in the value: ``same`` object (``a = b``), ``part`` of it
#: (``a = b.x``, ``a = b[i]``), ``holds`` it (a library call's result, which may also be it),
#: ``contains`` it (``a = [b]``: a new container), ``stores/`` and how the stored value relates
#: to it (``a.x = b``: ``stores/same``; ``a.append(f(b))``: ``stores/holds``),
#: ``call:f`` (the result of notebook function ``f``), and ``view…`` for the object a method was
#: called on (``a = b.reshape(…)`` may be a view of ``b``; ``np.zeros(…)`` is not numpy).
Kind = str
STORES = "stores/"


def references_only(kind: Kind) -> bool:
    """Whether the target only references the value after this kind of binding (a directed
    edge, not one region): a new container, or a store into an object."""
    return kind in ("contains", "viewcontains") or kind.startswith(STORES)


@dataclass(frozen=True)
class Alias:
    """After a binding, ``target`` relates to ``value``'s object as ``kind`` says.

    ``rebinds``: ``target`` is bound anew (``a = b``); otherwise its object is stored into
    (``a.x = b``) or iterated over (``for a in b``: ``b`` holds ``a``, kind ``part``).
    """

    target: str
    value: str
    kind: Kind
    rebinds: bool


@dataclass(frozen=True)
class Passed:
    """A call of a name with its arguments: (position or keyword, or ``*`` for unpacked) -> roots.

    ``results``: (position or keyword, name, notebook function) for a name that reaches an
    argument only through that function's result (``f(build(config))``: config, through build).
    """

    callee: str
    arguments: tuple[tuple[int | str, frozenset[str]], ...]
    results: tuple[tuple[int | str, str, str], ...] = ()


@dataclass
class Statement:
    """What one top-level statement does when it runs."""

    binds: set[str] = field(default_factory=set)
    surely: set[str] = field(default_factory=set)  # bound whenever the statement completes
    made_by: dict[str, str] = field(default_factory=dict)  # ``name = f.g(…)``: name -> "f.g"
    reads: set[str] = field(default_factory=set)
    shallow: set[str] = field(default_factory=set)  # its own object changed (``a[i] = …``, ``a += …``)
    deep: set[str] = field(default_factory=set)  # anything reachable from it may change (methods)
    strong: set[str] = field(default_factory=set)  # assigned into (checked against imported names)
    aliases: list[Alias] = field(default_factory=list)
    passed: list[Passed] = field(default_factory=list)
    calls: list[ast.Call] = field(default_factory=list)
    is_import: bool = False
    defines: str = ""  # the function or class a ``def``/``class`` statement binds


@dataclass
class Scope:
    """What a function or class (everything nested in it included) reads and changes when called."""

    reads: set[str] = field(default_factory=set)  # global names it reads
    changes: set[str] = field(default_factory=set)  # globals it may change in place or rebind
    strong: set[str] = field(default_factory=set)  # globals it assigns into
    passed: list[Passed] = field(default_factory=list)  # calls of names, global arguments only
    calls: list[ast.Call] = field(default_factory=list)  # every call in it (random state)
    is_class: bool = False
    params: tuple[str, ...] = ()  # positional parameters, in order (a class: its __init__'s, no self)
    changed_params: set[str] = field(default_factory=set)  # parameters it may change ("*": */** ones)
    assigned_params: set[str] = field(default_factory=set)  # parameters it assigns into
    returns_param: bool = False  # may return (part of) an argument
    returns: set[str] = field(default_factory=set)  # globals it may return
    returns_views: set[str] = field(default_factory=set)  # of those, ones only methods are called on


@dataclass
class Cell:
    """A cell's statements, the functions and classes it defines, its imports."""

    statements: list[Statement] = field(default_factory=list)
    imports: dict[str, str] = field(default_factory=dict)  # name -> module path
    scopes: dict[str, Scope] = field(default_factory=dict)


#: global generators a call may draw from or seed.
GENERATORS = frozenset({"torch", "numpy", "python"})
_RANDOM_PART = re.compile(r"rand|normal|bernoulli|multinomial|poisson|dropout|perm|shuffle|seed|"
                          r"exponential|cauchy|geometric|sample|rrelu|gumbel|fractional", re.I)
_NUMPY_GENERATOR_TYPES = frozenset({"default_rng", "Generator", "RandomState", "SeedSequence", "PCG64",
                                    "PCG64DXSM", "MT19937", "Philox", "SFC64", "BitGenerator"})
#: numpy's generator objects: their methods draw from their own state and return new objects.
NUMPY_GENERATORS = frozenset({"numpy.random.default_rng", "numpy.random.Generator",
                              "numpy.random.RandomState"})
#: calls that seed generators, by full name: what follows them draws from a known state.
RESETS = {"nnlab.seeding.seed_everything": GENERATORS, "torch.manual_seed": frozenset({"torch"}),
          "torch.random.manual_seed": frozenset({"torch"}), "numpy.random.seed": frozenset({"numpy"}),
          "random.seed": frozenset({"python"})}


def looks_random(name: str) -> bool:
    """Whether a function or method of this name may draw or seed (``normal_``, ``manual_seed``)."""
    return bool(_RANDOM_PART.search(name))


def library_draws(path: str) -> set[str]:
    """Generators a library function may draw from or seed, by its full name."""
    last = path.rpartition(".")[2]
    if path in RESETS:
        return set(RESETS[path])
    if path.startswith("numpy.random."):
        return set() if last in _NUMPY_GENERATOR_TYPES else {"numpy"}
    if path.startswith("random."):
        return set() if last in ("Random", "SystemRandom") else {"python"}
    if path.startswith("torch.nn.functional."):
        return {"torch"} if looks_random(last) else set()  # F.dropout, F.rrelu; not F.avg_pool2d
    if path.startswith(("torch.nn.", "torch.utils.", "torch.optim.", "torch.distributions.")):
        return {"torch"}  # layers initialise their weights, loaders shuffle
    if path.startswith("torch.") and looks_random(last):
        return {"torch"}
    if path.startswith("nnlab.") and last == "one_thread":
        return set()  # nnlab.threads.one_thread (re-exported by nnlab.training) sets the thread count
    if path.startswith("nnlab."):
        return {"torch"}  # nnlab draws from torch's global generator only (a test keeps it so)
    return set()


@dataclass(frozen=True)
class Needs:
    """The cells to run.

    Attributes:
        run: positions (into the analysed cells) to run, or None for every cell.
        reason: when ``run`` is None, why every cell runs (one line, names the cell).
    """

    run: frozenset[int] | None
    reason: str = ""

    def skipped(self, count: int) -> list[int]:
        """Positions, among ``count`` cells, that are not run."""
        return [] if self.run is None else [i for i in range(count) if i not in self.run]
