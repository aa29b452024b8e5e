"""The translation format (i18n/<lang>/<nb>.md): reading, validation messages, update, build;
the course language setting; figure text with and without a CJK font; editions in the grader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from autograder.course.settings import course_language
from autograder.course.translation_build import translate_notebook, with_language
from autograder.course.translations import (
    TranslationError,
    english_hash,
    read_translation,
    update_translation,
)
from autograder.grading.template import Template

SETUP = "import numpy as np\n"
EXERCISE = ('def scale(x, factor):\n'
            '    """Multiply x by factor.\n\n    Args:\n        x: (N,) float64 input.\n    """\n'
            '    # every entry is multiplied by the same number\n'
            '    return x * factor\n')
DEMO = 'label = "plain key"\nprint(f"scaled {label} by two positions")\n'
TEXT = "## Scaling · 缩放\n\nScaling multiplies every entry by one number.\n"
ANSWER = "### BEGIN SOLUTION\nIt keeps the shape.\n### END SOLUTION"


def _cell(cell_id: str, kind: str, source: str, **nbgrader: object) -> dict:
    cell = {"id": cell_id, "cell_type": kind, "metadata": {}, "source": source}
    if nbgrader:
        cell["metadata"]["nbgrader"] = {"schema_version": 3, **nbgrader}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    return cell


def _notebook() -> dict:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        _cell("c0", "code", SETUP, grade_id="setup", locked=True, solution=False, grade=False),
        _cell("c1", "markdown", TEXT),
        _cell("c2", "code", EXERCISE, grade_id="scale", solution=True, grade=False, locked=False),
        _cell("c3", "code", 'from nnlab.checks import check\ncheck("scale", scale)\n',
              grade_id="test_scale", grade=True, solution=False, locked=True, points=1),
        _cell("c4", "code", DEMO),
        _cell("c5", "markdown", ANSWER, grade_id="answer_scale", grade=True, solution=True, points=1),
    ]}


GOOD = f"""<!-- nnlab translation: nb · zh -->

<!-- cell c1 markdown en:{english_hash(TEXT)} -->
## 缩放

缩放把每个元素乘以同一个数。

<!-- cell c2 code en:{english_hash(EXERCISE)} -->
<!-- replace -->
\"\"\"Multiply x by factor.

    Args:
        x: (N,) float64 input.
    \"\"\"
<!-- with -->
\"\"\"把 x 乘以 factor。

    Args:
        x: (N,) float64 输入。
    \"\"\"
<!-- replace -->
# every entry is multiplied by the same number
<!-- with -->
# 每个元素都乘以同一个数

<!-- cell c4 code en:{english_hash(DEMO)} -->
<!-- replace -->
f"scaled {{label}} by two positions"
<!-- with -->
f"把 {{label}} 放大两倍"

<!-- cell c5 markdown en:{english_hash(ANSWER)} -->
### BEGIN SOLUTION
形状不变。
### END SOLUTION
"""


def _translate(tmp_path: Path, text: str, notebook: dict | None = None):
    path = tmp_path / "zh" / "nb.md"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return translate_notebook(notebook or _notebook(), read_translation(path))


def _messages(problems) -> list[str]:
    return [str(p) for p in problems if not p.warning]


def test_a_complete_translation_builds_the_chinese_edition(tmp_path: Path) -> None:
    built, problems = _translate(tmp_path, GOOD)
    assert problems == []
    cells = {c["id"]: c["source"] for c in built["cells"]}
    assert cells["c1"] == "## 缩放\n\n缩放把每个元素乘以同一个数。"
    assert '"""把 x 乘以 factor。' in cells["c2"] and "def scale(x, factor):" in cells["c2"]
    assert "# 每个元素都乘以同一个数" in cells["c2"] and "return x * factor" in cells["c2"]
    assert cells["c3"] == _notebook()["cells"][3]["source"]  # test cells are never translated
    assert cells["c0"] == SETUP + '\nimport nnlab\n\nnnlab.set_language("zh")  # 改为 "en" 即切换为英文\n'
    assert built["metadata"]["nnlab"] == {"language": "zh"}


def test_the_language_is_set_once_after_the_set_up_cells_imports() -> None:
    setup = "import numpy as np\n\nimport nnlab\nfrom nnlab import checks\n\nrng = np.random.default_rng(0)\n"
    built = with_language(setup, "zh")
    assert built.count("import nnlab\n") == 1
    lines = built.splitlines()
    assert lines[lines.index("from nnlab import checks") + 2].startswith('nnlab.set_language("zh")')
    assert built.endswith("\n\nrng = np.random.default_rng(0)\n")
    aliased = with_language("import nnlab as nl\n", "zh")
    assert aliased.startswith("import nnlab as nl\n\nimport nnlab\n\nnnlab.")
    assert with_language("x = 1\n", "zh").startswith("import nnlab\n\nnnlab.set_language")


def test_a_changed_english_cell_is_reported_stale_and_stays_english(tmp_path: Path) -> None:
    notebook = _notebook()
    notebook["cells"][1]["source"] = TEXT + "\nA new sentence.\n"
    built, problems = _translate(tmp_path, GOOD, notebook)
    [message] = _messages(problems)
    assert "nb.md: cell c1: the English cell changed since it was translated" in message
    assert f"now en:{english_hash(notebook['cells'][1]['source'])}" in message
    assert "--accept c1" in message
    assert built["cells"][1]["source"] == notebook["cells"][1]["source"]


@pytest.mark.parametrize(("fragment", "count"), [("# multiplied by the same", 0), ("x", 0)])
def test_a_fragment_that_is_not_in_the_cell_exactly_once_is_named(tmp_path: Path, fragment: str,
                                                                  count: int) -> None:
    text = GOOD.replace("# every entry is multiplied by the same number\n<!-- with -->",
                        f"{fragment}\n<!-- with -->")
    problems = _messages(_translate(tmp_path, text)[1])
    assert len(problems) == 1 and "cell c2" in problems[0]
    assert f"occurs {EXERCISE.count(fragment)} times" in problems[0]


def test_a_replacement_that_changes_code_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace('f"把 {label} 放大两倍"', 'f"把 {label} 放大两倍" + str(factor)')
    built, problems = _translate(tmp_path, text)
    [message] = _messages(problems)
    assert "cell c4" in message and "code differs from the English" in message
    assert built["cells"][4]["source"] == DEMO


def test_a_translation_may_move_text_around_placeholders_but_not_change_them(tmp_path: Path) -> None:
    moved = GOOD.replace('f"把 {label} 放大两倍"', 'f"{label}：放大两倍"')
    built, problems = _translate(tmp_path, moved)
    assert _messages(problems) == []
    assert 'f"{label}：放大两倍"' in built["cells"][4]["source"]
    changed = GOOD.replace('f"把 {label} 放大两倍"', 'f"把 {label!r} 放大两倍"')
    [message] = _messages(_translate(tmp_path, changed)[1])
    assert "cell c4" in message and "code differs from the English" in message


def test_a_cell_with_text_but_no_entry_is_listed(tmp_path: Path) -> None:
    start = GOOD.index("<!-- cell c1 ")
    end = GOOD.index("<!-- cell c2 ")
    problems = _messages(_translate(tmp_path, GOOD[:start] + GOOD[end:])[1])
    assert problems == [f"{tmp_path / 'zh' / 'nb.md'}: cell c1: has text to translate but no entry: "
                        "run `python -m autograder translations update nb`"]


def test_untranslated_text_and_lost_markers_are_problems(tmp_path: Path) -> None:
    text = GOOD.replace("缩放把每个元素乘以同一个数。", "Scaling multiplies.")
    text = text.replace("## 缩放", "## Scaling")
    text = text.replace("### END SOLUTION\n", "")
    problems = _messages(_translate(tmp_path, text)[1])
    assert any("cell c1: not translated yet" in p for p in problems)
    assert any("cell c5: nbgrader markers" in p for p in problems)


def test_a_translated_string_the_code_may_use_is_a_warning(tmp_path: Path) -> None:
    c5 = GOOD.index("<!-- cell c5 ")
    text = GOOD[:c5] + '<!-- replace -->\n"plain key"\n<!-- with -->\n"普通键"\n\n' + GOOD[c5:]
    problems = _translate(tmp_path, text)[1]
    assert [p.warning for p in problems] == [True] and "'plain key'" in str(problems[0])


@pytest.mark.parametrize(("bad", "why"), [
    ("<!-- cell c1 markdown en:123 -->", "malformed cell marker"),
    (f"<!-- cell c1 markdown en:{english_hash(TEXT)} -->\nagain", "has a second entry"),
])
def test_malformed_files_name_the_line(tmp_path: Path, bad: str, why: str) -> None:
    path = tmp_path / "zh" / "nb.md"
    path.parent.mkdir()
    path.write_text(GOOD + "\n" + bad + "\n", encoding="utf-8")
    with pytest.raises(TranslationError, match=rf"nb\.md:\d+: .*{why}"):
        read_translation(path)


def test_update_adds_new_cells_drops_removed_ones_and_accepts_revisions(tmp_path: Path) -> None:
    path = tmp_path / "zh" / "nb.md"
    path.parent.mkdir()
    path.write_text(GOOD, encoding="utf-8")
    notebook = _notebook()
    notebook["cells"][1]["source"] = TEXT + "More.\n"
    notebook["cells"].insert(2, _cell("new", "markdown", "A new cell.\n"))
    del notebook["cells"][5]  # c4
    changes = update_translation(notebook, path)
    assert changes == ["added cell new (markdown): translate it",
                       "dropped cell c4: no such cell in the English notebook any more"]
    after = read_translation(path)
    assert list(after.entries) == ["c1", "new", "c2", "c5"]
    assert after.entries["new"].text == "A new cell." and after.entries["c1"].text.startswith("## 缩放")
    assert after.entries["c1"].en_hash == english_hash(TEXT)  # stale until accepted
    update_translation(notebook, path, accept=("c1",))
    assert read_translation(path).entries["c1"].en_hash == english_hash(notebook["cells"][1]["source"])


def test_update_keeps_a_current_file_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "zh" / "nb.md"
    path.parent.mkdir()
    path.write_text(GOOD, encoding="utf-8")
    assert update_translation(_notebook(), path) == []
    assert path.read_text(encoding="utf-8") == GOOD


def test_course_language_comes_from_the_environment_or_autograder_toml(tmp_path: Path,
                                                                       monkeypatch) -> None:
    monkeypatch.delenv("NNLAB_LANGUAGE", raising=False)
    assert course_language(tmp_path) == "en"
    (tmp_path / "autograder.toml").write_text('[course]\nlanguage = "zh"\n', encoding="utf-8")
    assert course_language(tmp_path) == "zh"
    monkeypatch.setenv("NNLAB_LANGUAGE", "en")
    assert course_language(tmp_path) == "en"
    monkeypatch.setenv("NNLAB_LANGUAGE", "fr")
    with pytest.raises(ValueError, match="NNLAB_LANGUAGE must be one of en, zh, got 'fr'"):
        course_language(tmp_path)
    monkeypatch.delenv("NNLAB_LANGUAGE")
    (tmp_path / "autograder.toml").write_text('[course]\nlanguge = "zh"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown course setting.*languge"):
        course_language(tmp_path)


def test_a_submission_is_graded_against_the_edition_it_was_made_from() -> None:
    english = Template("nb", [], {}, 5)
    chinese = Template("nb", [], {"nnlab": {"language": "zh"}}, 5)
    english.editions["zh"] = chinese
    assert english.edition_for({"metadata": {"nnlab": {"language": "zh"}}}) is chinese
    assert chinese.language == "zh" and english.language == "en"
    for metadata in ({}, {"nnlab": "zh"}, {"nnlab": {"language": "fr"}}, None):
        assert english.edition_for({"metadata": metadata}) is english


def test_figure_text_is_chinese_with_a_cjk_font_and_english_with_one_note_without(monkeypatch,
                                                                                   capsys) -> None:
    import matplotlib
    import nnlab
    from nnlab import fonts
    from nnlab.i18n import Text

    text = Text("derivative", "导数")
    monkeypatch.setattr(matplotlib, "rcParams", matplotlib.RcParams(matplotlib.rcParams))
    try:
        nnlab.set_language("zh")
        monkeypatch.setattr(fonts, "cjk_font", lambda: None)
        fonts._note_missing_font.cache_clear()
        assert fonts.figure_text(text) == fonts.figure_text(text) == "derivative"
        assert capsys.readouterr().out.count("no Chinese font found") == 1
        monkeypatch.setattr(fonts, "cjk_font", lambda: "WenQuanYi Zen Hei")
        assert fonts.figure_text(text) == "导数"
        assert matplotlib.rcParams["font.family"] == ["DejaVu Sans", "WenQuanYi Zen Hei"]
        nnlab.set_language("en")
        assert fonts.figure_text(text) == "derivative"
    finally:
        nnlab.set_language("en")


def test_control_labels_show_the_chinese_part_in_the_chinese_edition() -> None:
    import nnlab
    from nnlab.widgets import control_label

    assert control_label("stride · 步长") == "stride · 步长"
    try:
        nnlab.set_language("zh")
        assert control_label("stride · 步长") == "步长"
        assert control_label("x") == "x"
    finally:
        nnlab.set_language("en")


def test_the_summary_speaks_the_current_language() -> None:
    import nnlab
    from nnlab.checks import Summary

    summary = Summary([("nb", "scale", "pass"), ("nb", "shift", "not run")])
    try:
        nnlab.set_language("zh")
        assert "已通过 1 / 2 项检查" in summary._repr_html_() and "未运行" in summary._repr_html_()
    finally:
        nnlab.set_language("en")
    assert "1 of 2 checks pass" in summary._repr_html_() and "not run" in summary._repr_html_()


def test_the_example_notebook_round_trips_through_json(tmp_path: Path) -> None:
    built, _ = _translate(tmp_path, GOOD)
    assert json.loads(json.dumps(built, ensure_ascii=False)) == built


def test_a_notebook_without_a_translation_yet_is_built_from_its_english(tmp_path: Path) -> None:
    from autograder.course.translation_build import build_source

    (tmp_path / "solutions" / "nb").mkdir(parents=True)
    (tmp_path / "solutions" / "nb" / "nb.ipynb").write_text(json.dumps(_notebook()), encoding="utf-8")
    target, problems = build_source(tmp_path, "nb", "zh", tmp_path / "build")
    built = json.loads(target.read_text(encoding="utf-8"))
    assert [c["source"] for c in built["cells"][1:]] == [c["source"] for c in _notebook()["cells"][1:]]
    assert {p.cell_id for p in problems} == {"c1", "c2", "c5"}  # c4 has no docstring or comment
    assert all("no entry: run `python -m autograder translations update nb`" in p.message for p in problems)
