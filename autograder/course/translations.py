"""Translation files: ``i18n/<language>/<notebook>.md``, the other editions of a notebook.

The instructor's notebook in ``solutions/`` is the one source; a translation
file holds, per cell id, the translated text and the hash of the English
cell it was made from, so an edit of the English shows up as a stale entry
instead of a silently outdated translation::

    <!-- nnlab translation: 01_activations · zh -->

    <!-- cell b42f419f markdown en:ed15fef95ad1 -->
    (the whole markdown cell, translated)

    <!-- cell d97533bf code en:1f23fc7dffb4 -->
    <!-- replace -->
    (an exact fragment of the English code cell: a docstring, a comment, a shown string)
    <!-- with -->
    (its translation)

``en:`` is the first 12 hex digits of the SHA-256 of the English cell source.
Test cells (``check(...)`` calls) are never translated: both editions grade
with the same calls. This module reads and rewrites the format; applying and
validating it is :mod:`autograder.course.translation_build`.
"""

from __future__ import annotations

import ast
import hashlib
import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: languages with a translation folder (English is the source).
TRANSLATED = ("zh",)

_MARK = re.compile(r"^<!-- cell (\S+) (markdown|code) en:([0-9a-f]{12}) -->$")
_PAIR = re.compile(r"^<!-- (replace|with) -->$")
_HEADER = "<!-- nnlab translation: {notebook} · {language} -->"
_WORD = re.compile(r"[A-Za-z]{2,}")


class TranslationError(ValueError):
    """A translation file that cannot be read (names the file and line, and what to do)."""


def english_hash(source: str) -> str:
    """The ``en:`` key of a cell: the first 12 hex digits of SHA-256 of its source."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:12]


def cell_source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def is_test_cell(cell: dict[str, Any]) -> bool:
    """Autograded code cells: ``check(...)`` calls only, identical in every edition."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell["cell_type"] == "code" and bool(meta.get("grade")) and not meta.get("solution")


@dataclass
class Entry:
    """The translation of one cell.

    Attributes:
        cell_id: the id of the cell in the English notebook.
        kind: ``"markdown"`` (``text`` is the whole cell) or ``"code"`` (``pairs``).
        en_hash: the hash of the English source it was translated from.
        line: the line of its marker in the file (for messages).
        block: the entry's lines as written (kept verbatim when the file is rewritten).
    """

    cell_id: str
    kind: str
    en_hash: str
    line: int
    block: list[str] = field(default_factory=list)
    text: str = ""
    pairs: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Translation:
    """One translation file."""

    path: Path
    notebook: str
    language: str
    entries: dict[str, Entry]


def translation_path(repo: Path, notebook: str, language: str) -> Path:
    return repo / "i18n" / language / f"{notebook}.md"


def _pairs(entry: Entry, path: Path) -> list[tuple[str, str]]:
    body = "\n".join(entry.block[1:]).strip("\n")
    parts = re.split(r"^<!-- (replace|with) -->$", body, flags=re.M)
    if parts[0].strip():
        raise TranslationError(f"{path}:{entry.line + 1}: cell {entry.cell_id}: text before the first "
                               "<!-- replace -->; a code entry holds only replace/with pairs")
    kinds, chunks = parts[1::2], [p.removeprefix("\n").removesuffix("\n") for p in parts[2::2]]
    if kinds != ["replace", "with"] * (len(kinds) // 2):
        raise TranslationError(f"{path}:{entry.line}: cell {entry.cell_id}: expected pairs of "
                               "<!-- replace --> (the exact English) then <!-- with --> (the translation)")
    return list(zip(chunks[0::2], chunks[1::2], strict=True))


def read_translation(path: Path) -> Translation:
    """Parse a translation file.

    Raises:
        TranslationError: when the file is missing or malformed (file, line and what to do).
    """
    if not path.is_file():
        raise TranslationError(f"{path}: no translation file; create it with "
                               f"`python -m autograder translations update {path.stem}`")
    lines = path.read_text(encoding="utf-8").split("\n")
    language = path.parent.name
    entries: dict[str, Entry] = {}
    current: Entry | None = None
    for number, line in enumerate(lines, start=1):
        match = _MARK.match(line)
        if match:
            if match[1] in entries:
                raise TranslationError(f"{path}:{number}: cell {match[1]} has a second entry "
                                       f"(the first is on line {entries[match[1]].line}); keep one")
            current = Entry(match[1], match[2], match[3], number, [line])
            entries[current.cell_id] = current
        elif line.startswith("<!-- cell "):
            raise TranslationError(f"{path}:{number}: malformed cell marker {line!r}; expected "
                                   "<!-- cell ID markdown|code en:HASH --> (never edit marker lines)")
        elif current is not None:
            current.block.append(line)
    for entry in entries.values():
        if entry.kind == "markdown":
            entry.text = "\n".join(entry.block[1:]).strip("\n")
        else:
            entry.pairs = _pairs(entry, path)
    return Translation(path, path.stem, language, entries)


def _docstring_segments(source: str, tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Module):
            if ast.get_docstring(node, clean=False) is not None:
                segment = ast.get_source_segment(source, node.body[0].value)
                if segment:
                    found.append(segment)
    return found


def prose_comments(source: str) -> list[str]:
    """Comments with at least three words: prose a student reads (not nbgrader markers)."""
    found = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if (token.type == tokenize.COMMENT and len(_WORD.findall(token.string)) >= 3
                    and not re.search(r"(BEGIN|END) (SOLUTION|HIDDEN TESTS)", token.string)):
                found.append(token.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return found


def prose_fragments(source: str) -> list[str]:
    """Docstrings, prose comments and long string literals of a code cell, in order, each unique.

    What a new entry proposes to translate; the author deletes pairs that are not prose
    (a dictionary key, a value the code compares with).
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return prose_comments(source)
    found = _docstring_segments(source, tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and len(_WORD.findall(node.value)) >= 3:
            segment = ast.get_source_segment(source, node)
            if segment and not any(segment in known for known in found):
                found.append(segment)
    found += prose_comments(source)
    unique = [f for f in dict.fromkeys(found) if source.count(f) == 1]
    return sorted(unique, key=source.find)


def needs_entry(cell: dict[str, Any]) -> bool:
    """Cells a complete translation covers: markdown, and code cells with docstrings or prose comments."""
    if cell["cell_type"] == "markdown":
        return bool(cell_source(cell).strip())
    if cell["cell_type"] != "code" or is_test_cell(cell):
        return False
    source = cell_source(cell)
    try:
        docstrings = _docstring_segments(source, ast.parse(source))
    except SyntaxError:
        docstrings = []
    return bool(docstrings or prose_comments(source))


def new_entry(cell: dict[str, Any]) -> list[str]:
    """The lines of a fresh entry for ``cell``, the English in place of the translation."""
    source = cell_source(cell)
    lines = [f"<!-- cell {cell['id']} {cell['cell_type']} en:{english_hash(source)} -->"]
    if cell["cell_type"] == "markdown":
        return [*lines, source, ""]
    for fragment in prose_fragments(source):
        lines += ["<!-- replace -->", fragment, "<!-- with -->", fragment]
    return [*lines, ""]


def update_translation(notebook: dict[str, Any], path: Path, *, accept: tuple[str, ...] = ()) -> list[str]:
    """Bring a translation file in line with the English notebook; returns what changed.

    Entries are put in notebook order; a cell that needs an entry and has none gets one
    with the English as placeholder; entries of cells no longer in the notebook are
    dropped; entries of test cells are dropped. A stale entry (English changed) keeps its
    translation and its old hash until the author has revised it and passes its cell id
    in ``accept``. Every other line is kept as written.

    Raises:
        TranslationError: for a malformed file, or an ``accept`` id without an entry.
    """
    translation = read_translation(path) if path.is_file() else Translation(
        path, path.stem, path.parent.name, {})
    unknown = sorted(set(accept) - set(translation.entries))
    if unknown:
        raise TranslationError(f"{path}: no entry for {', '.join(unknown)} to accept")
    out = [_HEADER.format(notebook=path.stem, language=path.parent.name), ""]
    changes: list[str] = []
    cells = {c["id"]: c for c in notebook["cells"]}
    for cell in notebook["cells"]:
        entry = translation.entries.get(cell["id"])
        if entry is None:
            if needs_entry(cell):
                out += new_entry(cell)
                changes.append(f"added cell {cell['id']} ({cell['cell_type']}): translate it")
            continue
        if is_test_cell(cell):
            changes.append(f"dropped cell {cell['id']}: test cells are never translated")
            continue
        block = list(entry.block)
        if entry.cell_id in accept:
            fresh = english_hash(cell_source(cell))
            block[0] = f"<!-- cell {entry.cell_id} {entry.kind} en:{fresh} -->"
            changes.append(f"accepted cell {entry.cell_id}: en:{entry.en_hash} -> en:{fresh}")
        while block and not block[-1].strip():
            block.pop()
        out += [*block, ""]
    for cell_id in translation.entries:
        if cell_id not in cells:
            changes.append(f"dropped cell {cell_id}: no such cell in the English notebook any more")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(out).rstrip("\n") + "\n", encoding="utf-8")
    return changes
