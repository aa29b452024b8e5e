"""Which cells grading needs: a pure analysis of a notebook's text, before anything runs.

Grading calls the student's functions by name once the cells have run (the *probes*), so a
cell matters only if it can change what those names hold or what their functions reach.

* A cell the student wrote or edited always runs: its time-outs, crashes, floods and
  patches show exactly as in a full run. Only cells whose text is the instructor's,
  unchanged, may be left out (``fixed``).
* A fixed cell runs when what it does may be seen by a probe or by a running cell *after*
  it: it binds (or deletes) a name one of them reads, that very binding, or it may change in
  place an object one of them reads or reaches through a function, class, decorator, default
  argument or annotation, transitively. "May change in place": assigning into it (``a.x = …``,
  ``a[i] = …``, ``a += …``, ``del a[i]``), calling a method on it, passing it to a notebook
  function that changes its parameters or to an in-place call (``…_``, ``shuffle``, ``out=``),
  calling a notebook function that changes a global; through aliases (``a = b``, ``a = b[0]``,
  ``for a in b``, views, a library call's result, which may be its argument). A container only
  *references* what it holds (``a = [b]``, ``a.x = b``, ``a.append(b)``): a change to ``b``
  reaches the readers of ``a``, appending to ``a`` does not change ``b``
  (:mod:`autograder.grading.cell_regions`). Names are followed per binding: a loop variable
  reused in a later cell is a new object there, and a name bound earlier in the same cell
  hides its older bindings.
* Random state: a fixed cell that may draw from or seed a global generator (torch's,
  numpy's legacy one, Python's) runs when a later running cell may draw from it before
  seeding it. The probes start from freshly seeded generators (:mod:`autograder.sandbox.child`),
  so what a left-out cell would have drawn never reaches a check. A numpy ``Generator``
  object's draws (``rng.normal(…)``) change only that object and return new arrays.
* A library call that sets global state (``torch.set_…``, ``np.seterr``, warning filters,
  ``plt.style.use``, ``…register…``) makes its cell run, itself or through a notebook function;
  ``torch.set_num_threads(1)`` does not (the sandbox runs torch on one thread already).
* When unsure, every cell runs (``Needs.reason`` says why): what :mod:`autograder.grading.cell_reading`
  refuses, assigning into an imported name (``np.allclose = …``,
  ``torch.Tensor.__eq__ = …``) or handing one to a notebook function that assigns into its
  parameters, in any cell or function.

Known limits (docs/authoring.md): a library call that changes an argument in place without
saying so in its name (``np.random.shuffle`` is caught, ``sorted`` is not), a notebook
function that returns a global it reaches, whose result a fixed cell then changes, and one
that stores one global object into another, are not followed. A student's own cells always
run, so only the instructor's cells are ever left out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from autograder.grading.cell_facts import (
    NUMPY_GENERATORS,
    STORES,
    Alias,
    Cell,
    Needs,
    Passed,
    Scope,
    Statement,
    Unsure,
    references_only,
)
from autograder.grading.cell_reading import read_cell
from autograder.grading.cell_regions import Regions
from autograder.grading.cell_state import GlobalState


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


class _Notebook(GlobalState):
    """The cells together. A name is followed per binding: a *version* ``x@7`` is the object
    statement 7 bound to ``x`` (``x@-``: one from before the notebook). Data versions that
    may share objects form regions (:mod:`autograder.grading.cell_regions`). Functions and
    classes change only when assigned into; imported modules are not objects of the notebook
    (assigning into one makes every cell run)."""

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
                           if callee.partition(".")[0] in self.only_imported
                           and self.full_names(callee) <= NUMPY_GENERATORS}
        self.draws: dict[str, set[str]] = {}
        self.regions = Regions(lambda v: v in self.definitions or _name(v) in self.only_imported)
        for index, statement in enumerate(self.statements):
            for alias in sorted(statement.aliases, key=lambda a: not references_only(a.kind)):  # edges first
                self._link(alias, index)
        for name, scopes in self.scopes.items():
            for scope in scopes:
                strong = scope.strong | self._handed(scope.passed, assigns=True)
                self._refuse_patches(self.every_version(strong), where=name)

    def region(self, version: str) -> str:
        return self.regions.find(version)

    def _link(self, alias: Alias, index: int) -> None:
        right = self._values(alias, index)
        left = {_version(alias.target, index)} if alias.rebinds else self.visible(alias.target, index)
        if references_only(alias.kind):  # a new container holding the value, or one it is stored into
            for a in left:
                for b in right:
                    self.regions.store(a, b)
            return
        if alias.kind != "same":  # part of the value, a view, a result: any object the value reaches
            right = right | self.regions.reachable({self.region(v) for v in right if self._is_data(v)})
        for a in left:
            for b in right:
                self.regions.join(a, b)

    def _values(self, alias: Alias, index: int) -> set[str]:
        """Versions whose objects the alias's target comes to share or reference (none: empty)."""
        kind, value = alias.kind.removeprefix(STORES), alias.value
        if not alias.rebinds and alias.target in self.only_imported:
            return set()  # ``torch.nn.init.ones_(w)`` keeps nothing in torch
        if value in self.only_imported and kind not in ("same", "part", "contains"):
            return set()  # ``np.zeros(…)`` is a new object, not numpy; ``f(np.float64)`` keeps no module
        if kind.startswith("view") and self.is_generator(value, index):
            return set()  # ``rng.normal(…)`` is a new array, never the generator or part of it
        if not kind.startswith("call:"):
            return self.visible(value, index)
        callee = kind[5:]
        if value == callee:  # the result itself: the globals the notebook function returns
            return self.every_version({r for s in self.scopes.get(callee, []) for r in s.returns
                                       if r not in s.returns_views or r not in self.only_imported})
        if not self._may_return_arguments(callee):
            return set()
        return self.visible(value, index)

    def _is_data(self, version: str) -> bool:
        return version not in self.definitions and _name(version) not in self.only_imported \
            and not version.endswith("@-")

    def _reached(self, versions: Iterable[str], *, deep: bool = True) -> set[str]:
        """Regions of the data versions, with (``deep``) every region their objects reference."""
        regions = {self.region(v) for v in versions if self._is_data(v)}
        return self.regions.reachable(regions) if deep else regions

    def spread(self, versions: set[str], *, assigned: bool, deep: bool) -> set[str]:
        """What a change through ``versions`` may change: their regions (``~`` and the region's
        name; ``deep``: and what their objects reference) and, when ``assigned`` into, the
        functions and classes held there."""
        regions = self._reached(versions, deep=deep)
        found = {f"~{r}" for r in regions}
        if assigned:
            found |= {v for v in versions | self.regions.leaves(regions) if v in self.definitions}
        return found

    def objects(self, versions: set[str]) -> set[str]:
        """What reading ``versions`` depends on: the versions themselves (the statements that
        bound them) and the regions of the data ones and of what they reference (``~`` and the
        region's name)."""
        kept = {v for v in versions if not v.endswith("@-")}
        return kept | {f"~{r}" for r in self._reached(kept)}

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
                results = [(key, frozenset({name})) for key, name, through in call.results
                           if self._may_return_arguments(through)]
                for key, roots in [*call.arguments, *results]:
                    param = scope.params[key] if isinstance(key, int) and key < len(scope.params) else key
                    if param in which or "*" in which or not isinstance(param, str) or param == "*":
                        found |= roots if which else set()
        return found

    def _may_return_arguments(self, callee: str) -> bool:
        """Whether a call's result may be (part of) its arguments: not for a notebook function
        that returns none of its parameters."""
        return callee not in self.scopes or any(s.returns_param for s in self.scopes[callee])

    def _own_changes(self, scope: Scope) -> set[str]:
        """Globals a function changes itself (calling into a library does not change the library)."""
        return scope.changes - self.only_imported | self._handed(scope.passed)

    def _refuse_patches(self, versions: set[str], *, where: str) -> None:
        """Refuse assigning into an imported name, or into a name that may share its object."""
        held = self.regions.leaves(self._reached(versions))
        patched = {_name(v) for v in versions | held} & self.only_imported
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
        def versions(names: Iterable[str]) -> set[str]:
            return {v for n in names for v in self.visible(n, index)}

        own = statement.shallow - statement.deep  # only the object itself: ``a[i] = …``, ``a.append(…)``
        strong = statement.strong | self._handed(statement.passed, assigns=True)
        self._refuse_patches(versions(strong), where=where)
        functions = statement.reads & set(self.scopes)
        deep = versions(statement.shallow - own | statement.deep | self._handed(statement.passed))
        deep |= self.every_version(n for f in functions for n in self.effects[f])
        assigned = versions(strong - own) | self.every_version(n for f in functions for n in self.assigned[f])
        return ({_version(n, index) for n in statement.binds}  # binding a name changes no object
                | self.spread(versions(own), assigned=False, deep=False)
                | self.spread(versions(strong & own), assigned=True, deep=False)
                | self.spread(deep, assigned=False, deep=True)
                | self.spread(assigned, assigned=True, deep=True))

    def read_by(self, index: int) -> set[str]:
        """Versions statement ``index`` reads, with everything the functions it reads reach."""
        statement = self.statements[index]
        versions = {v for n in statement.reads for v in self.visible(n, index)}
        functions = statement.reads & set(self.scopes)
        return versions | self.every_version(r for f in functions for r in self.reach[f])

    def needed(self, graded: set[str], fixed: set[int]) -> set[int]:
        """Positions to run: every cell not fixed, and the fixed cells something running needs."""
        count = len(self.cells)
        changed = {i: set().union(set(), *(self.changed_by(s, where=f"cell {i + 1}")  # may raise Unsure
                                           for s in self.of_cell[i]))
                   for i in sorted(fixed)}  # the others run anyway
        writes = [self.writes_random(i) for i in range(count)]
        draws = [self.reads_random(i) for i in range(count)]
        wanted = self.every_version(graded) | self.every_version(r for f in graded & set(self.scopes)
                                                                 for r in self.reach[f])
        run = {i for i in range(count) if i not in fixed or self.sets_state(i)}
        probes = self.objects(wanted)
        reads = [self.objects(set().union(set(), *(self.read_by(s) for s in self.of_cell[i])))
                 for i in range(count)]
        while True:
            more = {i for i in range(count) if i not in run and (  # what runs after cell i sees its changes
                changed[i] & probes.union(*(reads[j] for j in run if j > i))
                or any(j > i and writes[i] & draws[j] for j in run))}
            if not more:
                return run
            run |= more
