"""Which data versions may share objects (:class:`Regions`), for :mod:`autograder.grading.cell_needs`.

Versions that may *be* the same object or part of one another (``a = b``, ``a = b[0]``, a
view, a library call's result, which may be its argument) form one *region*: a change through
one may change any of them. A container that only *references* an object (``a = [b]``,
``a.x = b``, ``a.append(b)``) is its own region, joined to the region it references by a
directed edge: reading ``a`` depends on ``b``, a change through ``b`` reaches ``a``'s readers,
but appending to ``a`` does not change ``b``. A change that may reach into what an object
references (a method call, ``a.x.y = …``) spreads along the edges.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable


class Regions:
    """Union-find over data versions, with the edges of stored references and the functions,
    classes and modules each region holds (``members``: they join no region)."""

    def __init__(self, is_leaf: Callable[[str], bool]) -> None:
        self.is_leaf = is_leaf  # a function, class or module version: remembered, never joined
        self.parent: dict[str, str] = {}
        self.members: dict[str, set[str]] = {}  # region -> its leaves
        self.edges: list[tuple[str, str]] = []  # (holder, held) versions
        self._graph: dict[str, set[str]] | None = None

    def find(self, version: str) -> str:
        """The region's name: one of its versions."""
        root = version
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while version != root:  # every version on the way now points at the root
            following = self.parent[version]
            self.parent[version] = root
            version = following
        return root

    def join(self, a: str, b: str) -> None:
        """``a`` and ``b`` may share objects; a leaf is remembered by the other's region instead."""
        for leaf, other in ((b, a), (a, b)):
            if self.is_leaf(leaf):
                if not self.is_leaf(other):
                    self.members.setdefault(self.find(other), set()).add(leaf)
                return
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb
            self.members.setdefault(rb, set()).update(self.members.pop(ra, set()))
            self._graph = None

    def store(self, holder: str, held: str) -> None:
        """``holder``'s object now references ``held``'s."""
        if self.is_leaf(holder) or self.is_leaf(held):
            self.join(holder, held)
        else:
            self.edges.append((holder, held))
            self._graph = None

    def reachable(self, regions: Iterable[str]) -> set[str]:
        """These regions and every region their objects reference, transitively."""
        if self._graph is None:
            self._graph = {}
            for holder, held in self.edges:
                self._graph.setdefault(self.find(holder), set()).add(self.find(held))
        seen = set(regions)
        todo = list(seen)
        while todo:
            for following in self._graph.get(todo.pop(), ()):
                if following not in seen:
                    seen.add(following)
                    todo.append(following)
        return seen

    def leaves(self, regions: Iterable[str]) -> set[str]:
        """The functions, classes and modules these regions hold."""
        return set().union(set(), *(self.members.get(r, ()) for r in regions))
