"""Which cells grading needs: a pure analysis of a notebook's text, before anything runs.

Grading calls the student's functions by name once the cells have run (the *probes*), so a
cell matters only if it can change what those names hold or what their functions reach.

* A cell the student wrote or edited always runs: its time-outs, crashes, floods and
  patches show exactly as in a full run. Only cells whose text is the instructor's,
  unchanged, may be left out (``fixed``).
* A fixed cell runs when it binds, deletes or may change in place a *needed* object: one a
  probe looks up, one a running cell reads, or one that a needed function, class,
  decorator or default argument reaches, transitively. "May change in place": assigning
  into it (``a.x = …``, ``a[i] = …``, ``a += …``, ``del a[i]``), calling a method on it,
  passing it to a notebook function that changes its parameters, to an in-place call
  (``…_``, ``shuffle``, ``out=``), calling a notebook function that changes a global; through
  aliases (``a = b``, ``a.x = b``, ``for a in b``, containers). Names are followed per
  binding: a loop variable reused in a later cell is a new object there.
* Random state: a fixed cell that may draw from or seed a global generator (torch's,
  numpy's legacy one, Python's) runs when a later running cell may draw from it before
  seeding it. The probes start from freshly seeded generators (:mod:`autograder.sandbox.child`),
  so what a left-out cell would have drawn never reaches a check.
* A library call that sets global state (``torch.set_…``, ``np.seterr``, warning filters,
  ``plt.style.use``, ``…register…``) makes its cell run.
* When unsure, every cell runs (``Needs.reason`` says why): what :mod:`autograder.grading.cell_reading`
  refuses, assigning into an imported name (``np.allclose = …``,
  ``torch.Tensor.__eq__ = …``) or handing one to a notebook function that assigns into its
  parameters, in any cell or function.

Known limits (docs/authoring.md): a library call that changes an argument in place without
saying so in its name (``np.random.shuffle`` is caught, ``sorted`` is not) or a notebook
function that returns a global it reaches, whose result a fixed cell then changes, are not
followed. A student's own cells always run, so only the instructor's cells are ever left out.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Iterable, Sequence

from autograder.grading.cell_facts import (
    GENERATORS,
    NUMPY_GENERATORS,
    READING_METHODS,
    RESETS,
    STORING_METHODS,
    Alias,
    Cell,
    Needs,
    Passed,
    Scope,
    Statement,
    Unsure,
    library_draws,
    looks_random,
)
from autograder.grading.cell_reading import dotted, read_cell

#: the last part of a library call that sets global state.
_SETTER = re.compile(r"^(set_.*|seterr|setbufsize|use_.*|use|filterwarnings|simplefilter|resetwarnings|"
                     r"enable.*|disable.*|rc|rcdefaults|register.*)$")


def analyse(cells: Sequence[str], graded: Iterable[str], *, fixed: Collection[int]) -> Needs:
    """The cells grading needs.

    Args:
        cells: the code cells that would run, in order (test cells left out), as source text.
        graded: the names the probes look up (the student's functions the checks call).
        fixed: positions of cells whose text is the instructor's, unchanged; only those may
            be left out.

    Returns:
        The positions to run, or ``run=None`` with the reason when the analysis is unsure.
    """
    read: list[Cell] = []
    for position, source in enumerate(cells):
        try:
            read.append(read_cell(source))
        except Unsure as error:
            return Needs(None, f"cell {position + 1}: {error}")
    try:
        return Needs(frozenset(_Notebook(read).needed(set(graded), set(fixed))))
    except Unsure as error:
        return Needs(None, str(error))


def _version(name: str, statement: int | None) -> str:
    return f"{name}@{'-' if statement is None else statement}"


def _name(version: str) -> str:
    return version.rpartition("@")[0]


class _Notebook:
    """The cells together. A name is followed per binding: a *version* ``x@7`` is the object
    statement 7 bound to ``x`` (``x@-``: one from before the notebook). Data versions that
    may share objects (aliases, views, containers and what they hold) form one *region*: a
    change through one may change any of them. Functions and classes change only when
    assigned into; imported modules are not objects of the notebook (assigning into one
    makes every cell run)."""

    def __init__(self, cells: list[Cell]) -> None:
        self.cells = cells
        self.imports: dict[str, set[str]] = {}
        self.scopes: dict[str, list[Scope]] = {}
        self.bindings: dict[str, list[int]] = {}
        self.statements: list[Statement] = []
        self.of_cell: list[list[int]] = []
        self.cell_start: list[int] = []  # statement -> the first statement of its cell
        for cell in cells:
            for name, path in cell.imports.items():
                self.imports.setdefault(name, set()).add(path)
            for name, scope in cell.scopes.items():
                self.scopes.setdefault(name, []).append(scope)
            first = len(self.statements)
            self.of_cell.append(list(range(first, first + len(cell.statements))))
            for statement in cell.statements:
                self.cell_start.append(first)
                for name in statement.binds:
                    self.bindings.setdefault(name, []).append(len(self.statements))
                self.statements.append(statement)
        self.only_imported = set(self.imports) - {n for s in self.statements if not s.is_import
                                                  for n in s.binds}
        self.definitions = {_version(s.defines, i) for i, s in enumerate(self.statements) if s.defines}
        self.reach = self._closure(lambda scope: scope.reads)
        self.effects = self._closure(self._own_changes)
        self.assigned = self._closure(lambda scope: scope.strong - self.only_imported
                                      | self._handed(scope.passed, assigns=True))
        self.generators = {_version(name, i) for i, s in enumerate(self.statements)  # numpy's generators
                           for name, callee in s.made_by.items()
                           if self._resolves(callee) <= NUMPY_GENERATORS}
        self.draws: dict[str, set[str]] = {}
        self.parent: dict[str, str] = {}
        self.members: dict[str, set[str]] = {}  # region -> its functions, classes and imported names
        for index, statement in enumerate(self.statements):
            for alias in statement.aliases:
                self._link(alias, index)
        for name, scopes in self.scopes.items():
            for scope in scopes:
                strong = scope.strong | self._handed(scope.passed, assigns=True)
                self._refuse_patches(self.every_version(strong), where=name)

    # regions
    def region(self, version: str) -> str:
        root = version
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while version != root:  # every version on the way now points at the root
            following = self.parent[version]
            self.parent[version] = root
            version = following
        return root

    def _join(self, a: str, b: str) -> None:
        """Put data versions ``a`` and ``b`` in one region; a function, class or module is
        remembered by the region instead (it does not join two regions)."""
        for leaf, other in ((b, a), (a, b)):
            if leaf in self.definitions or _name(leaf) in self.only_imported:
                if other not in self.definitions and _name(other) not in self.only_imported:
                    self.members.setdefault(self.region(other), set()).add(leaf)
                return
        ra, rb = self.region(a), self.region(b)
        if ra != rb:
            self.parent[ra] = rb
            self.members.setdefault(rb, set()).update(self.members.pop(ra, set()))

    def _resolves(self, callee: str) -> set[str]:
        """Full names a dotted call may name (``np.random.default_rng``: ``numpy.random.default_rng``),
        empty when its first name is not only imported."""
        first, _, rest = callee.partition(".")
        if first not in self.only_imported:
            return {""}
        return {f"{path}.{rest}" if rest else path for path in self.imports[first]}

    def is_generator(self, name: str, index: int) -> bool:
        """Whether ``name`` is a numpy generator at statement ``index`` (every binding it may see)."""
        return self.visible(name, index) <= self.generators

    def _link(self, alias: Alias, index: int) -> None:
        if not alias.rebinds and alias.target in self.only_imported:
            return  # ``torch.nn.init.ones_(w)`` keeps nothing in torch
        kind, value = alias.kind, alias.value
        if value in self.only_imported and kind not in ("same", "part"):
            return  # ``np.zeros(…)`` is a new object, not numpy; ``f(np.float64)`` keeps no module
        if kind.startswith("view") and self.is_generator(value, index):
            return  # ``rng.normal(…)`` is a new array, never the generator or part of it
        right = self.visible(value, index)
        if kind.startswith("call:"):
            callee = kind[5:]
            if value == callee:  # the result itself: the globals the notebook function returns
                right = self.every_version({r for s in self.scopes.get(callee, []) for r in s.returns
                                            if r not in s.returns_views or r not in self.only_imported})
            elif callee in self.scopes and not any(s.returns_param for s in self.scopes[callee]):
                return
        left = {_version(alias.target, index)} if alias.rebinds else self.visible(alias.target, index)
        for a in left:
            for b in right:
                self._join(a, b)

    def _is_data(self, version: str) -> bool:
        return version not in self.definitions and _name(version) not in self.only_imported \
            and not version.endswith("@-")

    def spread(self, versions: set[str], *, assigned: bool) -> set[str]:
        """What a change through ``versions`` may change: their regions (``~`` and the region's
        name) and, when ``assigned`` into, the functions and classes those regions hold."""
        found = {v for v in versions if not self._is_data(v) and assigned and v in self.definitions}
        for version in (v for v in versions if self._is_data(v)):
            region = self.region(version)
            found.add(f"~{region}")
            if assigned:
                found |= {m for m in self.members.get(region, ()) if m in self.definitions}
        return found

    def objects(self, versions: set[str]) -> set[str]:
        """What reading ``versions`` depends on: the versions themselves (the statements that
        bound them) and the regions of the data ones (``~`` and the region's name)."""
        kept = {v for v in versions if not v.endswith("@-")}
        return kept | {f"~{self.region(v)}" for v in kept if self._is_data(v)}

    # names and versions
    def visible(self, name: str, index: int) -> set[str]:
        """Versions of ``name`` statement ``index`` may see: any binding up to it may be the
        last that ran (a cell that raises stops before its later bindings), back to one earlier
        in the same cell that surely binds it (had that one failed, ``index`` would not run)."""
        found: set[str] = set()
        start = self.cell_start[index] if index < len(self.statements) else index  # after the last cell
        for k in reversed([k for k in self.bindings.get(name, []) if k <= index]):
            found.add(_version(name, k))
            if start <= k < index and name in self.statements[k].surely:
                break
        return found or {_version(name, None)}  # unbound so far: a builtin, or a NameError

    def every_version(self, names: Iterable[str]) -> set[str]:
        return {v for n in names for v in self.visible(n, len(self.statements))}

    def _closure(self, own) -> dict[str, set[str]]:
        """name -> ``own(scope)`` over its scopes and every notebook function they read, transitively."""
        result: dict[str, set[str]] = {}
        for name in self.scopes:
            seen, todo, found = {name}, [name], set()
            while todo:
                for scope in self.scopes.get(todo.pop(), []):
                    found |= own(scope)
                    for other in scope.reads & set(self.scopes) - seen:
                        seen.add(other)
                        todo.append(other)
            result[name] = found
        return result

    def _handed(self, passed: list[Passed], *, assigns: bool = False) -> set[str]:
        """Arguments given to notebook functions that change (``assigns``: assign into) that parameter."""
        found: set[str] = set()
        for call in passed:
            for scope in self.scopes.get(call.callee, []):
                which = scope.assigned_params if assigns else scope.changed_params
                for key, roots in call.arguments:
                    param = scope.params[key] if isinstance(key, int) and key < len(scope.params) else key
                    if param in which or "*" in which or not isinstance(param, str) or param == "*":
                        found |= roots if which else set()
        return found

    def _own_changes(self, scope: Scope) -> set[str]:
        """Globals a function changes itself (calling into a library does not change the library)."""
        return scope.changes - self.only_imported | self._handed(scope.passed)

    def _refuse_patches(self, versions: set[str], *, where: str) -> None:
        """Refuse assigning into an imported name, or into a name that may share its object."""
        patched = {_name(v) for v in versions} & self.only_imported
        for version in (v for v in versions if self._is_data(v)):
            patched |= {_name(m) for m in self.members.get(self.region(version), ())} & self.only_imported
        if patched:
            raise Unsure(f"{where} assigns into {', '.join(sorted(patched))} (imported), directly, through "
                         "a name bound to it, or through a function that assigns into its parameters")

    # what a statement does
    def changed_by(self, index: int, *, where: str) -> set[str]:
        """Versions statement ``index`` binds, objects it may change (see :meth:`spread`).

        Raises:
            Unsure: when it may assign into an imported name (``where`` names the cell).
        """
        statement = self.statements[index]
        strong = statement.strong | self._handed(statement.passed, assigns=True)
        strong_versions = {v for n in strong for v in self.visible(n, index)}
        self._refuse_patches(strong_versions, where=where)
        weak = statement.shallow | statement.deep | self._handed(statement.passed)
        weak_versions = {v for n in weak for v in self.visible(n, index)}
        functions = statement.reads & set(self.scopes)
        weak_versions |= self.every_version(n for f in functions for n in self.effects[f])
        strong_versions |= self.every_version(n for f in functions for n in self.assigned[f])
        return ({_version(n, index) for n in statement.binds}  # binding a name changes no object
                | self.spread(strong_versions, assigned=True) | self.spread(weak_versions, assigned=False))

    def read_by(self, index: int) -> set[str]:
        """Versions statement ``index`` reads, with everything the functions it reads reach."""
        statement = self.statements[index]
        versions = {v for n in statement.reads for v in self.visible(n, index)}
        functions = statement.reads & set(self.scopes)
        return versions | self.every_version(r for f in functions for r in self.reach[f])

    def sets_state(self, position: int) -> bool:
        """Whether cell ``position`` calls a library function that sets global state, itself or
        through the notebook functions it calls."""
        statements = [self.statements[i] for i in self.of_cell[position]]
        functions = {f for s in statements for f in s.reads & set(self.scopes)}
        functions |= {g for f in functions for g in self.reach[f] & set(self.scopes)}
        calls = [c for s in statements for c in s.calls]
        calls += [c for f in functions for scope in self.scopes[f] for c in scope.calls]
        return any(self._sets_state(call) for call in calls)

    def _sets_state(self, call: ast.Call) -> bool:
        first, _, rest = (dotted(call.func) or "").partition(".")
        if not rest or first not in self.imports or not _SETTER.match(rest.rpartition(".")[2]):
            return False
        paths = {f"{path}.{rest}" for path in self.imports[first]}
        pinned = paths == {"torch.set_num_threads"} and not call.keywords \
            and [ast.unparse(a) for a in call.args] == ["1"]  # the sandbox runs torch on one thread
        return not pinned

    # random state
    def call_draws(self, call: ast.Call, index: int | None = None) -> set[str]:
        """Generators a call (in statement ``index``, when known) may draw from or seed."""
        name = dotted(call.func)
        method = call.func.attr if isinstance(call.func, ast.Attribute) else ""
        first, _, rest = (name or "").partition(".")
        if method in READING_METHODS | STORING_METHODS and first not in self.imports:
            return set()  # ``name.upper()``, ``history["loss"].append(x)``: no library draws there
        if name is None and (not method or looks_random(method)):
            constructs = isinstance(call.func, ast.Call) and dotted(call.func.func) == "type"
            return self._object_draws() if constructs else set(GENERATORS)  # ``f()()``, ``a[0]()``: unknown
        if name is None:
            return self._object_draws()  # a method of an item or a call's result: ``super().__init__()``
        if first in self.scopes:
            return self.function_draws(first)
        if first in self.imports:
            return set().union(*(library_draws(f"{path}.{rest}" if rest else path)
                                 for path in self.imports[first]))
        if index is not None and rest and first in self.bindings and self.is_generator(first, index):
            return set()  # a numpy Generator's own state
        return self._object_draws() if first in self.bindings else set()  # an object's method; builtins

    def _object_draws(self) -> set[str]:
        """What a method of an object may draw from: a library's (torch at most) or a notebook class's."""
        classes = [n for n, scopes in self.scopes.items() if any(s.is_class for s in scopes)]
        return {"torch"}.union(*(self.function_draws(c) for c in classes))

    def function_draws(self, name: str) -> set[str]:
        if name not in self.draws:
            self.draws[name] = set()  # while it is being worked out (recursion)
            found: set[str] = set()
            for scope in self.scopes[name]:
                for call in scope.calls:
                    found |= self.call_draws(call)
                for other in scope.reads & set(self.scopes):
                    found |= self.function_draws(other)
            self.draws[name] = found
        return self.draws[name]

    def statement_draws(self, index: int) -> tuple[set[str], set[str]]:
        """(generators statement ``index`` may draw from or seed, generators it seeds)."""
        statement = self.statements[index]
        draws = set().union(set(), *(self.call_draws(c, index) for c in statement.calls))
        for name in statement.reads & set(self.scopes):  # functions handed to others get called
            draws |= self.function_draws(name)
        resets: set[str] = set()
        for call in statement.calls:
            first, _, rest = (dotted(call.func) or "").partition(".")
            for path in self.imports.get(first, ()):
                resets |= RESETS.get(f"{path}.{rest}" if rest else path, frozenset())
        return draws, resets

    def reads_random(self, position: int) -> set[str]:
        """Generators cell ``position`` may draw from before it seeds them."""
        seeded, read = set(), set()
        for index in self.of_cell[position]:
            draws, resets = self.statement_draws(index)
            read |= draws - resets - seeded
            seeded |= resets
        return read

    def writes_random(self, position: int) -> set[str]:
        return set().union(set(), *(self.statement_draws(i)[0] for i in self.of_cell[position]))

    def needed(self, graded: set[str], fixed: set[int]) -> set[int]:
        """Positions to run: every cell not fixed, and the fixed cells something running needs."""
        count = len(self.cells)
        changed = {i: set().union(set(), *(self.changed_by(s, where=f"cell {i + 1}")  # may raise Unsure
                                           for s in self.of_cell[i]))
                   for i in sorted(fixed)}  # the others run anyway
        writes = [self.writes_random(i) for i in range(count)]
        wanted = self.every_version(graded) | self.every_version(r for f in graded & set(self.scopes)
                                                                 for r in self.reach[f])
        run = {i for i in range(count) if i not in fixed or self.sets_state(i)}
        probes = self.objects(wanted)
        reads = [self.objects(set().union(set(), *(self.read_by(s) for s in self.of_cell[i])))
                 for i in range(count)]
        while True:
            draws = {i: self.reads_random(i) for i in run}
            more = {i for i in range(count) if i not in run and (  # what runs after cell i sees its changes
                changed[i] & probes.union(*(reads[j] for j in run if j > i))
                or any(j > i and writes[i] & draws[j] for j in run))}
            if not more:
                return run
            run |= more
