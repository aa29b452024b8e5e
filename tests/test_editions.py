"""Every notebook's Chinese edition: complete, consistent with the glossary, no English prose
left, released in sync and leak-free, graded exactly like the English edition."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from autograder.course.layout import EDITIONS, Course
from autograder.course.nbgrader_bridge import generate_assignment
from autograder.course.release import MARKERS, build_edition_source, leaks
from autograder.course.translation_build import HAN, build_source, translate_notebook
from autograder.course.translations import read_translation, translation_path
from tests.conftest import ROOT
from tests.notebooks import execute_notebook, notebook_ids

NOTEBOOKS = notebook_ids()
LANGUAGES = [language for language in EDITIONS if language != "en"]
GLOSSARY = ROOT / "i18n" / "glossary.tsv"

#: prose to ignore when looking for English left in Chinese text: code, math, links, markers, quotes.
_NOT_PROSE = re.compile(r"```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|<!--.*?-->|\]\([^)]*\)|https?://\S+"
                        r"|^\s*#+\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS).*$|\*[^*\n]+\*|\"[^\"\n]*\"|“[^”]*”"
                        r"|'[^'\n]*'", re.S | re.M)
#: five or more English words in a row: a sentence, not a term (terms such as
#: "Batch Normalization" or "Leaky ReLU" stay English inline, as in the lecture).
_ENGLISH_RUN = re.compile(r"\b[A-Za-z][A-Za-z'-]*(?:[ ,]+[A-Za-z][A-Za-z'-]*){4,}\b")


def _english(notebook: str) -> dict:
    return json.loads((ROOT / "solutions" / notebook / f"{notebook}.ipynb").read_text(encoding="utf-8"))


def _translated(notebook: str, language: str):
    translation = read_translation(translation_path(ROOT, notebook, language))
    return translate_notebook(_english(notebook), translation)


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _glossary() -> list[tuple[str, list[str]]]:
    """(English term, accepted renderings) per glossary row; "轮 (epoch)" accepts 轮 or epoch."""
    rows = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines()[1:]:
        english, chinese = line.split("\t")[:2]
        accepted = {chinese, english, *re.split(r"\s*[()（）]\s*", chinese)}
        rows.append((english, sorted(a for a in accepted if a.strip())))
    return rows


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_translation_is_complete_and_current(notebook: str, language: str) -> None:
    """Every teaching cell, docstring, hint, question and model answer is translated from the
    current English (a failure lists every cell still to do)."""
    _, problems = _translated(notebook, language)
    errors = [str(p) for p in problems if not p.warning]
    assert not errors, f"{len(errors)} cell(s) of {notebook} to translate or fix:\n" + "\n".join(errors)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_no_english_sentence_is_left_in_the_translated_prose(notebook: str, language: str) -> None:
    built, _ = _translated(notebook, language)
    left = []
    for cell in built["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        prose = _NOT_PROSE.sub(" ", _source(cell))
        left += [f"cell {cell['id']}: {m.group(0)!r}" for m in _ENGLISH_RUN.finditer(prose)]
    assert not left, f"English sentences in the {language} edition of {notebook}:\n" + "\n".join(left)


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_glossary_terms_are_used_consistently(notebook: str) -> None:
    """A cell whose English prose uses a glossary term uses the glossary's Chinese (or keeps the
    English term, as the lecture does) in its translation."""
    translation = read_translation(translation_path(ROOT, notebook, "zh"))
    english = {cell["id"]: _source(cell) for cell in _english(notebook)["cells"]}
    missing = []
    for entry in translation.entries.values():
        if entry.kind != "markdown" or not HAN.search(entry.text) or entry.cell_id not in english:
            continue
        prose = _NOT_PROSE.sub(" ", english[entry.cell_id])
        for term, accepted in _glossary():
            if re.search(rf"\b{re.escape(term)}s?\b", prose, re.I) and not any(
                    a.lower() in entry.text.lower() for a in accepted):
                missing.append(f"cell {entry.cell_id}: {term!r} should read {' / '.join(accepted)}")
    assert not missing, f"{notebook}: glossary terms translated otherwise:\n" + "\n".join(missing)


def test_the_glossary_has_one_row_per_term() -> None:
    lines = GLOSSARY.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# en\tzh")
    terms = [line.split("\t")[0] for line in lines[1:]]
    assert all(len(line.split("\t")) >= 2 and line.split("\t")[1].strip() for line in lines[1:])
    assert len(terms) == len(set(terms)), "a term appears twice in i18n/glossary.tsv"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_editions_grade_the_same_cells_with_the_same_points(notebook: str, language: str) -> None:
    def graded(path: Path) -> list[tuple]:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return [(c["metadata"]["nbgrader"]["grade_id"], c["metadata"]["nbgrader"].get("points"),
                 _source(c) if c["metadata"]["nbgrader"].get("grade") and c["cell_type"] == "code" else "")
                for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id")]

    course = Course.at(repo=ROOT)
    assert graded(course.release_notebook(notebook, language)) == graded(course.release_notebook(notebook))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_translated_release_contains_no_solution_or_hidden_test(notebook: str, language: str) -> None:
    course = Course.at(repo=ROOT)
    assert leaks(course, notebook, language) == []
    folder = ROOT / EDITIONS[language] / notebook
    assert sorted(p.name for p in folder.iterdir()) == [f"{notebook}.ipynb"]
    text = (folder / f"{notebook}.ipynb").read_text(encoding="utf-8")
    assert not [m for m in MARKERS if m in text] and "HIDDEN TESTS" not in text


@pytest.mark.slow
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_translated_release_equals_a_fresh_nbgrader_release(notebook: str, language: str,
                                                            tmp_path: Path) -> None:
    course = Course.at(repo=ROOT)
    build_source(ROOT, notebook, language, tmp_path / "source")
    generate_assignment(Course(ROOT, tmp_path / "course"), notebook, source_dir=tmp_path / "source",
                        release_dir=tmp_path / "release")
    fresh = json.loads((tmp_path / "release" / notebook / f"{notebook}.ipynb").read_text(encoding="utf-8"))
    committed = json.loads(course.release_notebook(notebook, language).read_text(encoding="utf-8"))
    assert fresh == committed, f"{EDITIONS[language]}/{notebook} is stale: run `make release`"


@pytest.mark.slow
def test_the_chinese_solution_passes_its_checks_in_chinese_with_chinese_figures() -> None:
    """00_cnn_shapes's Chinese instructor notebook in a real kernel: every check passes, the
    summary speaks Chinese, figures draw their Chinese titles with no missing glyph."""
    course = Course.at(repo=ROOT)
    build_edition_source(course, "00_cnn_shapes", "zh")
    executed = execute_notebook(course.edition_source("00_cnn_shapes", "zh"), allow_errors=False)
    streams = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert "Glyph" not in streams and "findfont" not in streams and "no Chinese font" not in streams
    summary = "".join(o.get("data", {}).get("text/plain", "") for o in executed.cells[-1].outputs)
    assert re.search(r"已通过 (\d+) / \1 项检查", summary), summary
    assert "全连接层占全部参数的" in streams


@pytest.mark.slow
def test_the_demo_class_scores_the_same_in_both_editions(tmp_path: Path) -> None:
    from autograder.devtools.demo import run_demo

    tables = {}
    for language in EDITIONS:
        run_demo(course_dir=tmp_path / language, assignments=["00_cnn_shapes"], progress=False,
                 echo=lambda _: None, language=language)
        with open(tmp_path / language / "grades.csv", newline="", encoding="utf-8") as handle:
            tables[language] = [{k: v for k, v in row.items() if k not in ("timestamp",)}
                                for row in csv.DictReader(handle)]
    assert tables["zh"] == tables["en"]
    statuses = {row["student_id"]: row["status"] for row in tables["zh"]}
    assert statuses["perfect"] == "ok", "the Chinese edition's locked cells were reported tampered"


def test_the_leak_check_knows_the_translated_model_answers() -> None:
    """The Chinese model answers are secrets of the Chinese release (a leak test that can fail)."""
    from autograder.course.release import secret_lines

    built, _ = _translated("00_cnn_shapes", "zh")
    secrets = secret_lines(built)
    assert any("FC6 的感受野是**整张 227×227 输入**" in line for line in secrets)
    released = json.loads(Course.at(repo=ROOT).release_notebook("00_cnn_shapes", "zh").read_text("utf-8"))
    shown = {line.strip() for c in released["cells"] for line in _source(c).splitlines()}
    assert not secrets & shown
