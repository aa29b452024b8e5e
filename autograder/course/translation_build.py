"""Build a translated edition of a notebook from its English source and its translation file.

:func:`translate_notebook` applies ``i18n/<language>/<notebook>.md`` (see
:mod:`autograder.course.translations`) to ``solutions/<notebook>/<notebook>.ipynb``
and lists every problem with the file, the cell id and what to do. The
translated source is then released through nbgrader like the English one
(:mod:`autograder.course.release`), so both editions have the same cells, grade
ids, points and hidden tests.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.course.translations import (
    Entry,
    Translation,
    cell_source,
    english_hash,
    is_test_cell,
    needs_entry,
    prose_comments,
    read_translation,
    translation_path,
)

HAN = re.compile(r"[\u3400-\u9fff]")
_MARKER_LINE = re.compile(r"^\s*#+\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS|MARK SCHEME).*$", re.M)
#: calls and keywords whose string arguments are shown, not used: translating them is safe.
_SHOWN_CALLS = {"print", "display", "Markdown", "HTML", "set_title", "set_xlabel", "set_ylabel",
                "suptitle", "title", "xlabel", "ylabel", "text", "annotate", "legend", "set"}
_SHOWN_KEYWORDS = {"label", "title", "xlabel", "ylabel"}

#: the line a translated edition adds to its set-up cell, after the imports (messages, summary, labels).
LANGUAGE_LINE = 'nnlab.set_language("{language}")  # 改为 "en" 即切换为英文'


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a translation; ``str()`` is the message for the author."""

    path: Path
    cell_id: str
    message: str
    warning: bool = False

    def __str__(self) -> str:
        kind = "warning: " if self.warning else ""
        return f"{self.path}: cell {self.cell_id}: {kind}{self.message}"


def _fstrings_as_placeholders(tree: ast.AST) -> ast.AST:
    """A copy where each f-string keeps only its placeholders, in a fixed order.

    A translation may reorder an f-string's text around its placeholders (Chinese word
    order differs: ``f"layer {k}"`` becomes ``f"第 {k} 层"``); the placeholders themselves
    are code and must stay the same.
    """
    tree = copy.deepcopy(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            node.values = sorted((value for value in node.values if isinstance(value, ast.FormattedValue)),
                                 key=ast.dump)
    return tree


def _plain_strings(tree: ast.AST) -> str:
    """The tree's dump with docstrings and every string constant blanked: the code alone."""
    tree = copy.deepcopy(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = "<str>"
    return ast.dump(tree)


def _shown(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """True when a string node is a docstring or reaches a display call or keyword."""
    child, parent = node, parents.get(node)
    while parent is not None and not isinstance(parent, ast.stmt | ast.Module):
        if isinstance(parent, ast.keyword) and parent.arg in _SHOWN_KEYWORDS:
            return True
        if isinstance(parent, ast.Call) and child is not parent.func:
            func = parent.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in _SHOWN_CALLS:
                return True
        child, parent = parent, parents.get(parent)
    return isinstance(parent, ast.Expr) and isinstance(child, ast.Constant)  # a docstring


def compare_code(english: str, translated: str) -> tuple[str | None, list[str]]:
    """``(error, changed strings not shown)``: the code must be the same but for its strings.

    Returns:
        An error when the translated cell does not parse or its code differs beyond
        strings and comments; else the changed string literals that are not docstrings
        nor arguments of a display call (worth a look: the code might use them).
    """
    try:
        new_tree = ast.parse(translated)
    except SyntaxError as error:
        return f"the translated cell does not parse (line {error.lineno}: {error.msg}); " \
               "check quotes and indentation of the replacement", []
    old_tree = _fstrings_as_placeholders(ast.parse(english))
    new_tree = _fstrings_as_placeholders(new_tree)
    if _plain_strings(old_tree) != _plain_strings(new_tree):
        return "the code differs from the English beyond docstrings, comments and strings: " \
               "only text may change, never names, signatures or code", []
    parents = {child: node for node in ast.walk(new_tree) for child in ast.iter_child_nodes(node)}
    unshown = []
    for old, new in zip(ast.walk(old_tree), ast.walk(new_tree), strict=True):
        if isinstance(new, ast.Constant) and isinstance(new.value, str) and new.value != old.value \
                and not _shown(new, parents):
            unshown.append(old.value[:60])
    return None, unshown


def _translate_markdown(entry: Entry, english: str, where: Path) -> tuple[str | None, list[Problem]]:
    problems = []
    if not HAN.search(entry.text):
        problems.append(Problem(where, entry.cell_id, "not translated yet (no Chinese in the entry)"))
    markers = _MARKER_LINE.findall(english)
    if _MARKER_LINE.findall(entry.text) != markers:
        problems.append(Problem(where, entry.cell_id, "nbgrader markers (### BEGIN SOLUTION ...) must "
                                "be kept exactly as in the English cell"))
        return None, problems
    return entry.text, problems


def _translate_code(entry: Entry, english: str, where: Path) -> tuple[str | None, list[Problem]]:
    problems, translated = [], english
    for old, new in entry.pairs:
        count = english.count(old)
        if count != 1:
            problems.append(Problem(where, entry.cell_id, f"the fragment {old[:50]!r} occurs {count} times "
                                    "in the English cell; copy it exactly, long enough to occur once"))
            continue
        translated = translated.replace(old, new)
    if problems:
        return None, problems
    error, unshown = compare_code(english, translated)
    if error:
        return None, [Problem(where, entry.cell_id, error)]
    problems += [Problem(where, entry.cell_id, f"changed string {s!r} is not a docstring or a shown "
                         "text; translate it only if the code never uses its value", warning=True)
                 for s in unshown]
    if not any(HAN.search(new) for _, new in entry.pairs):
        problems.append(Problem(where, entry.cell_id, "not translated yet (no Chinese in any replacement)"))
    left = [c for c in prose_comments(translated) if not HAN.search(c)]
    if left:
        problems.append(Problem(where, entry.cell_id, f"English comment left: {left[0]!r}; add a pair"))
    return translated, problems


def translate_cell(cell: dict[str, Any], entry: Entry, where: Path) -> tuple[str | None, list[Problem]]:
    """The translated source of one cell (None when it cannot be used) and its problems."""
    english = cell_source(cell)
    if entry.kind != cell["cell_type"]:
        return None, [Problem(where, entry.cell_id, f"the entry says {entry.kind} but the cell is "
                              f"{cell['cell_type']}; never edit marker lines")]
    if is_test_cell(cell):
        return None, [Problem(where, entry.cell_id, "test cells are never translated: delete this entry")]
    if entry.en_hash != english_hash(english):
        return None, [Problem(where, entry.cell_id, f"the English cell changed since it was translated "
                              f"(en:{entry.en_hash}, now en:{english_hash(english)}): update the Chinese, "
                              f"then accept it with `python -m autograder translations update "
                              f"{where.stem} --accept {entry.cell_id}`")]
    if entry.kind == "markdown":
        return _translate_markdown(entry, english, where)
    return _translate_code(entry, english, where)


def translate_notebook(notebook: dict[str, Any],
                       translation: Translation) -> tuple[dict[str, Any], list[Problem]]:
    """The translated edition of ``notebook`` and every problem found on the way.

    A cell whose entry has a problem stays English (the edition is still complete and
    gradable); the problems say what to fix. The set-up cell gains a first line choosing
    the edition's language, and the notebook's metadata records it (``nnlab.language``),
    which is how the grader recognises the edition of a submission.
    """
    where = translation.path
    result = copy.deepcopy(notebook)
    problems: list[Problem] = []
    ids = {cell.get("id") for cell in notebook["cells"]}
    for cell_id in translation.entries:
        if cell_id not in ids:
            problems.append(Problem(where, cell_id, "no such cell in the English notebook: delete the "
                                    f"entry (`python -m autograder translations update {where.stem}`)"))
    for cell in result["cells"]:
        entry = translation.entries.get(cell.get("id"))
        if entry is None:
            if needs_entry(cell):
                problems.append(Problem(where, cell.get("id", "?"), "has text to translate but no entry: "
                                        f"run `python -m autograder translations update {where.stem}`"))
            continue
        translated, found = translate_cell(cell, entry, where)
        problems += found
        if translated is not None:
            cell["source"] = translated
    for cell in result["cells"]:
        grade_id = str(cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", ""))
        if grade_id.startswith("setup"):
            cell["source"] = with_language(cell_source(cell), translation.language)
            break
    result.setdefault("metadata", {})["nnlab"] = {"language": translation.language}
    return result, problems


def with_language(setup: str, language: str) -> str:
    """The set-up cell's source with the edition's language set right after its leading imports.

    ``import nnlab`` is added only when the imports lack it; a cell without leading imports, or
    one that does not parse, gets the lines at its top.
    """
    line = LANGUAGE_LINE.format(language=language)
    try:
        body = ast.parse(setup).body
    except SyntaxError:
        return f"import nnlab\n\n{line}\n\n{setup}"
    imports = []
    for node in body:
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            break
        imports.append(node)
    has_nnlab = any(isinstance(n, ast.Import) and any(a.name == "nnlab" and a.asname is None for a in n.names)
                    for n in imports)
    if not imports:
        return f"import nnlab\n\n{line}\n\n{setup}"
    if not has_nnlab:
        line = f"import nnlab\n\n{line}"
    lines = setup.splitlines(keepends=True)
    end = imports[-1].end_lineno or len(lines)
    head, tail = "".join(lines[:end]).rstrip("\n"), "".join(lines[end:]).lstrip("\n")
    return f"{head}\n\n{line}\n" + (f"\n{tail}" if tail else "")


def build_source(repo: Path, notebook: str, language: str, build_dir: Path) -> tuple[Path, list[Problem]]:
    """Write ``build_dir/<notebook>/<notebook>.ipynb``, the translated instructor notebook.

    A notebook without a translation file yet (a new one) is built from its English text,
    every cell listed as a problem, so the edition is complete and gradable meanwhile.

    Raises:
        TranslationError: when the translation file is malformed.
    """
    english = json.loads((repo / "solutions" / notebook / f"{notebook}.ipynb").read_text(encoding="utf-8"))
    path = translation_path(repo, notebook, language)
    translation = read_translation(path) if path.is_file() else Translation(path, notebook, language, {})
    translated, problems = translate_notebook(english, translation)
    target = build_dir / notebook / f"{notebook}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(translated, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return target, problems
