"""What one notebook cell reads, binds and changes, from its text alone (``ast``, ``symtable``).

The facts :mod:`autograder.grading.cell_needs` joins over a notebook to decide which cells grading
needs. Reading is deliberately coarse where Python is subtle (a name used anywhere in a
statement counts as used by it) and refuses, with :class:`Unsure`, what it cannot follow:
IPython syntax, star imports, dynamic access to names and namespaces, introspection,
files, and modules that reach the interpreter or the process. Nothing here runs the cell.
"""

from __future__ import annotations

import ast
import functools
import symtable
import threading
from collections.abc import Iterable, Iterator

from autograder.grading.cell_facts import (
    IN_PLACE,
    OWN_METHODS,
    READING_METHODS,
    SAFE_MODULES,
    STORES,
    STORING_METHODS,
    UNSAFE_ATTRIBUTES,
    UNSAFE_MODULES,
    UNSAFE_NAMES,
    Alias,
    Cell,
    Kind,
    Passed,
    Scope,
    Statement,
    Unsure,
)
from autograder.grading.cell_syntax import flat, parameters, positional, starred_parameters, surely_bound

#: one parse at a time: CPython 3.11's ``ast.parse`` is not thread-safe (its recursion-depth
#: bookkeeping is shared; two grading threads at once raise "AST constructor recursion depth
#: mismatch", python/cpython#106905), and the grader prepares submissions in several threads.
_PARSING = threading.Lock()


@functools.lru_cache(maxsize=4096)
def read_cell(source: str) -> Cell:
    """The facts of one cell (cached: a class shares the instructor's cells; treat as read-only).

    Raises:
        Unsure: naming the line and what could not be followed.
    """
    text = _as_python(source)
    try:
        with _PARSING:
            tree = ast.parse(text)
            table = symtable.symtable(text, "<cell>", "exec")
    except (SyntaxError, ValueError):
        return Cell()  # a cell that does not compile runs nothing and changes nothing
    _refuse_dynamic(tree)
    cell = Cell()
    for node in tree.body:
        cell.statements.append(_read_statement(node, cell, table))
    return cell


def _as_python(source: str) -> str:
    """The cell as IPython runs it; magics, ``!`` commands and ``?`` are refused."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        text = TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - IPython's own syntax errors: the cell cannot run either
        return source
    if "get_ipython" in text:
        raise Unsure("IPython syntax (a magic, ! command or ?)")
    return text


def _refuse_dynamic(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        where = f"line {getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Name) and node.id in UNSAFE_NAMES:
            raise Unsure(f"{where}: {node.id} (dynamic access the analysis cannot follow)")
        if isinstance(node, ast.Attribute) and node.attr in UNSAFE_ATTRIBUTES:
            raise Unsure(f"{where}: .{node.attr} (introspection or files)")
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            raise Unsure(f"{where}: a star import")
        modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                   else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        for module in modules:
            if module.split(".")[0] in UNSAFE_MODULES and module not in SAFE_MODULES:
                raise Unsure(f"{where}: import of {module}")


def _walk_now(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a statement that run now: not function bodies (they run when called), but
    decorators, defaults and annotations (``def f(m: nn.Module)`` reads ``nn`` when it runs)."""
    yield node
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        arguments = node.args
        every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                 *(a for a in (arguments.vararg, arguments.kwarg) if a)]
        children: Iterable[ast.AST] = [*node.decorator_list, *arguments.defaults,
                                       *(d for d in arguments.kw_defaults if d is not None),
                                       *(a.annotation for a in every if a.annotation),
                                       *([node.returns] if node.returns else [])]
    else:
        children = ast.iter_child_nodes(node)
    for child in children:
        yield from _walk_now(child)


def _globals(table: symtable.SymbolTable) -> set[str]:
    """Global names a scope, and every scope nested in it, read."""
    names = {s.get_name() for s in table.get_symbols()
             if s.is_referenced() and (s.is_global() or table.get_type() == "class" and not s.is_local())}
    for child in table.get_children():
        names |= _globals(child)
    return names


def _locals(table: symtable.SymbolTable) -> set[str]:
    names = {s.get_name() for s in table.get_symbols() if s.is_local() and not s.is_global()}
    for child in table.get_children():
        names |= _locals(child)
    return names - {s.get_name() for s in table.get_symbols() if s.is_global()}


def root(node: ast.expr) -> str | None:
    """The name an attribute or item chain starts from (``a`` in ``a.b[0].c``)."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def dotted(node: ast.expr) -> str | None:
    """``np.random.seed`` for that attribute chain; None when it does not start from a name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else None


def references(node: ast.expr | None) -> dict[str, Kind]:
    """Names whose objects the value of ``node`` may be, be part of, or hold, and how.

    Arithmetic and comparisons make new objects; a method's result may be its object (a
    view); a function's result may hold its arguments.
    """
    found: dict[str, Kind] = {}
    if node is None:
        return found
    if isinstance(node, ast.Name):
        found[node.id] = "same"
    elif isinstance(node, (ast.Attribute, ast.Subscript)):
        name = root(node)
        if name:
            found[name] = "part"
    elif isinstance(node, ast.Starred):
        found.update(references(node.value))
    elif isinstance(node, (ast.Tuple, ast.List, ast.Set, ast.Dict)):
        for element in (node.values if isinstance(node, ast.Dict) else node.elts):
            found.update({n: "viewcontains" if kind.startswith("view") else "contains"
                          for n, kind in references(element).items()})
    elif isinstance(node, (ast.IfExp, ast.BoolOp)):
        for branch in ([node.body, node.orelse] if isinstance(node, ast.IfExp) else node.values):
            found.update(references(branch))
    elif isinstance(node, ast.NamedExpr):
        found.update(references(node.value))
        found[node.target.id] = "same"
    elif isinstance(node, ast.Call):
        found.update(_call_references(node))
    return found


def _call_references(node: ast.Call) -> dict[str, Kind]:
    """:func:`references` of a call: a notebook function's result may be anything it got; a
    library call's result holds its arguments, and a method's may be a view of its object."""
    found: dict[str, Kind] = {}
    arguments = {n for a in [*node.args, *(k.value for k in node.keywords)] for n in references(a)}
    if isinstance(node.func, ast.Name):
        found.update({n: f"call:{node.func.id}" for n in arguments})
        found.setdefault(node.func.id, f"call:{node.func.id}")
    else:
        found.update({n: "holds" for n in arguments})
        found.update({n: "view" for n in references(node.func.value)}
                     if isinstance(node.func, ast.Attribute) else {})
    return found


def _bindings(node: ast.AST) -> tuple[list[ast.expr], ast.expr | None, bool]:
    """(targets, the value they get, whether the value is iterated) of a binding node."""
    if isinstance(node, ast.Assign):
        return list(node.targets), node.value, False
    if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        return [node.target], node.value, False
    if isinstance(node, ast.Delete):
        return list(node.targets), None, False
    if isinstance(node, (ast.For, ast.AsyncFor)):
        return [node.target], node.iter, True
    if isinstance(node, ast.withitem) and node.optional_vars is not None:
        return [node.optional_vars], node.context_expr, False
    return [], None, False


def _pairs(target: ast.expr, value: ast.expr | None, *,
           iterates: bool) -> list[tuple[ast.expr, dict[str, Kind]]]:
    """(each target, the names its object relates to), literals unpacked element by element.

    ``for ax, f in [(axes[0], relu), (axes[1], tanh)]`` pairs ``ax`` with ``axes`` and ``f``
    with ``relu`` and ``tanh`` only: drawing on ``ax`` does not change ``relu``.
    """
    if iterates and isinstance(value, (ast.List, ast.Tuple, ast.Set)):
        return [pair for element in value.elts for pair in _pairs(target, element, iterates=False)]
    if isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List)) \
            and len(target.elts) == len(value.elts) \
            and not any(isinstance(e, ast.Starred) for e in (*target.elts, *value.elts)):
        return [pair for t, v in zip(target.elts, value.elts) for pair in _pairs(t, v, iterates=False)]
    refs = references(value)
    if iterates or isinstance(target, (ast.Tuple, ast.List)):  # elements of the value
        refs = {n: {"same": "part", "view": "viewpart", "contains": "part", "viewcontains": "viewpart"}
                .get(kind, kind) for n, kind in refs.items()}
    return [(t, refs) for t in flat(target)]


def _effects(nodes: Iterable[ast.AST]) -> Statement:
    """What some nodes (already walked: every node listed) bind, change, alias and hand on."""
    found = Statement()
    in_comprehension: dict[str, set[str]] = {}  # comprehension variable -> what it iterates
    for node in nodes:
        if isinstance(node, ast.comprehension):
            for target in flat(node.target):
                if isinstance(target, ast.Name):
                    in_comprehension.setdefault(target.id, set()).update(references(node.iter))
            continue
        if isinstance(node, ast.Name):
            (found.reads if isinstance(node.ctx, ast.Load) else found.binds).add(node.id)
        targets, value, iterates = _bindings(node)
        for target, refs in (p for raw in targets for p in _pairs(raw, value, iterates=iterates)):
            name = root(target)
            if name is None:
                raise Unsure(f"line {target.lineno}: assignment into an expression")
            if isinstance(node, ast.AugAssign) or isinstance(target, (ast.Attribute, ast.Subscript)):
                one_level = isinstance(target, ast.Name) or isinstance(target.value, ast.Name)
                (found.shallow if one_level else found.deep).add(name)
                found.strong.add(name)
            rebinds = isinstance(target, ast.Name) and not isinstance(node, ast.AugAssign)
            found.aliases += [Alias(name, v, kind if rebinds else STORES + kind, rebinds)
                              for v, kind in refs.items() if rebinds or kind != f"call:{v}"]
        if isinstance(node, ast.Call):
            found.calls.append(node)
            _read_call(node, found)
    for name in set(in_comprehension) & (found.shallow | found.deep):
        found.deep |= in_comprehension[name]
    found.binds -= set(in_comprehension)
    return found


def _read_call(node: ast.Call, found: Statement) -> None:
    func = node.func
    given = [("*" if isinstance(a, ast.Starred) else i, references(a)) for i, a in enumerate(node.args)]
    given += [(k.arg or "*", references(k.value)) for k in node.keywords]
    arguments = [(key, frozenset(n for n, kind in refs.items() if not kind.startswith("call:")))
                 for key, refs in given]
    results = tuple((key, n, kind[5:]) for key, refs in given for n, kind in refs.items()
                    if kind.startswith("call:") and kind != f"call:{n}")  # not the callees themselves
    roots = {r for _, group in arguments for r in group} | {n for _, n, _ in results}
    stored = {n: kind for a in [*node.args, *(k.value for k in node.keywords)]
              for n, kind in references(a).items() if kind != f"call:{n}"}
    if isinstance(func, ast.Attribute):
        receiver = root(func.value)
        if receiver and func.attr not in READING_METHODS:
            own = func.attr in OWN_METHODS and isinstance(func.value, ast.Name)
            (found.shallow if own else found.deep).add(receiver)  # a method may change its object
            if func.attr in STORING_METHODS or not func.attr.islower():
                found.aliases += [Alias(receiver, n, STORES + kind, False)  # keeps its arguments
                                  for n, kind in stored.items()]
        if func.attr.endswith("_") and not func.attr.endswith("__") or func.attr in IN_PLACE:
            found.deep |= roots
            found.strong |= roots
    if any(k.arg == "out" for k in node.keywords):
        found.deep |= roots
        found.strong |= roots
    if isinstance(func, ast.Name):
        found.passed.append(Passed(func.id, tuple(arguments), results))


def _read_statement(node: ast.stmt, cell: Cell, table: symtable.SymbolTable) -> Statement:
    """One top-level statement: imports, definitions (as scopes), and what it does now."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            name = alias.asname or alias.name.split(".")[0]
            full = alias.name if alias.asname else name
            cell.imports[name] = full if isinstance(node, ast.Import) else f"{node.module}.{alias.name}"
        bound = {a.asname or a.name.split(".")[0] for a in node.names}
        return Statement(binds=bound, surely=bound, is_import=True)
    found = _effects(_walk_now(node))
    found.surely = surely_bound(node)
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
            and isinstance(node.value, ast.Call) and (callee := dotted(node.value.func)):
        found.made_by[node.targets[0].id] = callee
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        lines = (node.lineno, *(d.lineno for d in node.decorator_list))
        scope_table = next(t for t in table.get_children()
                           if t.get_name() == node.name and t.get_lineno() in lines)
        cell.scopes[node.name] = _read_scope(node, scope_table)
        found.binds.add(node.name)
        found.defines = node.name
        if isinstance(node, ast.ClassDef):
            found.reads |= _globals(scope_table) - cell.scopes[node.name].reads  # the class body
    return found


def _read_scope(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef,
                table: symtable.SymbolTable) -> Scope:
    found = _effects(n for statement in node.body for n in ast.walk(statement))
    local = _locals(table)
    declared = {n for s in ast.walk(node) if isinstance(s, ast.Global) for n in s.names}
    kinds: dict[str, set[Kind]] = {}
    for r in (r for r in ast.walk(node) if isinstance(r, ast.Return)):
        for name, kind in references(r.value).items():
            kinds.setdefault(name, set()).add(kind)
    returned = set(kinds)
    params = parameters(node)
    starred = starred_parameters(node)
    changed = found.shallow | found.deep
    return Scope(reads=_globals(table) | {p.callee for p in found.passed} - local,
                 changes={n for n in changed if n not in local} | declared,
                 strong={n for n in found.strong if n not in local},
                 passed=[Passed(p.callee, tuple((k, r - local) for k, r in p.arguments),
                                tuple((k, n, f) for k, n, f in p.results if n not in local))
                         for p in found.passed],
                 calls=[n for n in ast.walk(node) if isinstance(n, ast.Call)],
                 is_class=isinstance(node, ast.ClassDef), params=positional(node),
                 changed_params=params & changed | ({"*"} if starred & changed else set()),
                 assigned_params=params & found.strong | ({"*"} if starred & found.strong else set()),
                 returns_param=bool(params & returned), returns=returned - local - params,
                 returns_views={n for n, found in kinds.items() if all(k.startswith("view") for k in found)})
