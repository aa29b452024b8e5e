"""Global state in the cell analysis: library calls that set it, and the random generators
a call, a statement or a cell may draw from or seed (:class:`GlobalState`, which the notebook of
:mod:`autograder.grading.cell_needs` extends)."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

from autograder.grading.cell_facts import (
    GENERATORS,
    READING_METHODS,
    RESETS,
    STORING_METHODS,
    Cell,
    Scope,
    Statement,
    library_draws,
    looks_random,
)
from autograder.grading.cell_reading import dotted

#: the last part of a library call that sets global state.
_SETTER = re.compile(r"^(set_.*|seterr|setbufsize|use_.*|use|filterwarnings|simplefilter|resetwarnings|"
                     r"enable.*|disable.*|rc|rcdefaults|register.*)$")

#: methods that only read their object or store their arguments: no draws there.
_DRAWLESS_METHODS = READING_METHODS | STORING_METHODS


class GlobalState:
    """What the cells do to global state; the notebook sets these attributes (see cell_needs)."""

    cells: list[Cell]
    imports: dict[str, set[str]]
    scopes: dict[str, list[Scope]]
    bindings: dict[str, list[int]]
    statements: list[Statement]
    of_cell: list[list[int]]
    only_imported: set[str]
    reach: dict[str, set[str]]
    generators: set[str]
    draws: dict[str, set[str]]

    visible: Callable[[str, int], set[str]]  # versions of a name a statement may see

    def full_names(self, name: str) -> set[str]:
        """Full names a dotted name may stand for through the notebook's imports
        (``np.random.seed``: ``numpy.random.seed``); empty when its first part is not imported."""
        first, _, rest = name.partition(".")
        return {f"{path}.{rest}" if rest else path for path in self.imports.get(first, ())}

    def is_generator(self, name: str, index: int) -> bool:
        """Whether ``name`` is a numpy generator at statement ``index`` (every binding it may see)."""
        return self.visible(name, index) <= self.generators

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
        name = dotted(call.func) or ""
        paths = self.full_names(name)
        if "." not in name or not paths or not _SETTER.match(name.rpartition(".")[2]):
            return False
        pinned = paths == {"torch.set_num_threads"} and not call.keywords \
            and [ast.unparse(a) for a in call.args] == ["1"]  # the sandbox runs torch on one thread
        return not pinned

    def call_draws(self, call: ast.Call, index: int | None = None) -> set[str]:
        """Generators a call (in statement ``index``, when known) may draw from or seed."""
        name = dotted(call.func)
        method = call.func.attr if isinstance(call.func, ast.Attribute) else ""
        first, _, rest = (name or "").partition(".")
        if method in _DRAWLESS_METHODS and first not in self.imports:
            return set()  # ``name.upper()``, ``history["loss"].append(x)``: no library draws there
        if name is None and (not method or looks_random(method)):
            constructs = isinstance(call.func, ast.Call) and dotted(call.func.func) == "type"
            return self._object_draws() if constructs else set(GENERATORS)  # ``f()()``, ``a[0]()``: unknown
        if name is None:
            return self._object_draws()  # a method of an item or a call's result: ``super().__init__()``
        if first in self.scopes:
            return self.function_draws(first)
        if first in self.imports:
            return set().union(*(library_draws(path) for path in self.full_names(name)))
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
        resets = {g for call in statement.calls for path in self.full_names(dotted(call.func) or "")
                  for g in RESETS.get(path, ())}
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
