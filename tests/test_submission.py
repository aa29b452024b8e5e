"""Reading a submitted notebook and rebuilding it from the assignment's template.

Inputs are the test course's ``mini`` release as a student receives it,
edited the way a student (or an attacker) might: every locked cell must come
back from the instructor's notebook, with the change reported.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from autograder.grading import notebook_file
from autograder.grading import template as templates
from autograder.grading.check_calls import HIDDEN_BEGIN, HIDDEN_END
from autograder.grading.notebook_file import InvalidSubmission, nbgrader_of, read_notebook, source_of
from autograder.grading.rebuild import rebuild
from autograder.grading.template import Template, load_template
from tests.conftest import TEST_COURSE

RELEASE = TEST_COURSE / "assignments" / "mini" / "mini.ipynb"
SOURCE = TEST_COURSE / "solutions" / "mini" / "mini.ipynb"

Notebook = dict[str, Any]


@pytest.fixture(scope="module")
def template() -> Template:
    return load_template(RELEASE, SOURCE, "mini")


@pytest.fixture
def release() -> Notebook:
    """A fresh copy of the released notebook, to edit."""
    return json.loads(RELEASE.read_text(encoding="utf-8"))


def source_cells() -> dict[str, dict[str, Any]]:
    """The instructor's cells by grade id."""
    notebook = json.loads(SOURCE.read_text(encoding="utf-8"))
    return {nbgrader_of(c)["grade_id"]: c for c in notebook["cells"] if nbgrader_of(c).get("grade_id")}


def index_of(cells: list[dict[str, Any]], grade_id: str) -> int:
    return next(i for i, c in enumerate(cells) if nbgrader_of(c).get("grade_id") == grade_id)


def grade_ids(cells: list[dict[str, Any]]) -> list[str | None]:
    return [nbgrader_of(c).get("grade_id") for c in cells]


def write(tmp_path: Path, content: bytes | str | Any) -> Path:
    path = tmp_path / "mini.ipynb"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content), encoding="utf-8")
    return path


# --- read_notebook ----------------------------------------------------------------------------


def test_read_notebook_accepts_the_release(tmp_path: Path, release: Notebook) -> None:
    assert read_notebook(write(tmp_path, release)) == release


@pytest.mark.parametrize("content, reason", [
    pytest.param(b'{"cells": [], "nbformat": 4, "x": "\xff\xfe"}', "not UTF-8", id="not-utf8"),
    pytest.param('{\n  "cells": [\n    {"cell_type": "code",,}\n  ]\n}', "invalid JSON at line 3 column 26",
                 id="bad-json"),
    pytest.param("", "invalid JSON at line 1 column 1", id="empty-file"),
    pytest.param([1, 2, 3], "not a notebook: no cells", id="a-list"),
    pytest.param({"metadata": {}, "nbformat": 4}, "not a notebook: no cells", id="no-cells"),
    pytest.param({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": []}]},
                 "notebook format 3 is not supported (expected 4)", id="nbformat-3"),
    pytest.param({"nbformat": "4", "cells": []}, "notebook format '4' is not supported",
                 id="nbformat-string"),
    pytest.param({"nbformat": 4, "cells": {"0": {}}}, "'cells' is not a list", id="cells-dict"),
    pytest.param({"nbformat": 4, "worksheets": []}, "'cells' is not a list", id="worksheets-only"),
    pytest.param({"nbformat": 4, "cells": [{"cell_type": "markdown", "source": ""}, "cell"]},
                 "cell 2 is malformed (no valid cell_type)", id="cell-not-dict"),
    pytest.param({"nbformat": 4, "cells": [{"cell_type": "widget", "source": ""}]},
                 "cell 1 is malformed (no valid cell_type)", id="unknown-cell-type"),
    pytest.param({"nbformat": 4, "cells": [{"cell_type": "code", "source": ["a", 1]}]},
                 "cell 1 is malformed (source is not text)", id="source-not-text"),
])
def test_read_notebook_explains_in_one_line_why_a_file_cannot_be_graded(
        tmp_path: Path, content: Any, reason: str) -> None:
    with pytest.raises(InvalidSubmission) as caught:
        read_notebook(write(tmp_path, content))
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)


def test_read_notebook_refuses_a_file_over_the_size_limit(tmp_path: Path, release: Notebook,
                                                          monkeypatch) -> None:
    path = write(tmp_path, release)
    monkeypatch.setattr(notebook_file, "MAX_NOTEBOOK_BYTES", path.stat().st_size - 1)
    with pytest.raises(InvalidSubmission, match=f"{path.stat().st_size} bytes.*clear the outputs"):
        read_notebook(path)


def test_read_notebook_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidSubmission, match="cannot read the notebook"):
        read_notebook(tmp_path / "nothing.ipynb")


# --- load_template ----------------------------------------------------------------------------


def test_the_template_has_one_anchor_per_graded_cell_of_the_right_kind(template: Template) -> None:
    released = json.loads(RELEASE.read_text(encoding="utf-8"))["cells"]
    assert [a.grade_id for a in template.anchors] == [g for g in grade_ids(released) if g]
    kinds = {a.grade_id: a.kind for a in template.anchors}
    assert kinds == {
        "setup": "locked", "relu_forward": "solution", "test_relu_forward": "test",
        "relu_backward": "solution", "test_relu_backward": "test", "tanh_forward": "solution",
        "test_tanh_forward": "test", "question": "locked", "answer_relu": "answer",
    }


def test_the_template_counts_points_per_kind(template: Template) -> None:
    assert template.max_auto == 3
    assert template.max_manual == 1


def test_test_cell_plans_include_the_hidden_calls(template: Template) -> None:
    for grade_id, cell in source_cells().items():
        anchor = template.by_id[grade_id]
        if anchor.kind != "test":
            continue
        assert anchor.source_with_hidden == source_of(cell)
        assert [c.hidden for c in anchor.calls] == [False, True]
        hidden = anchor.calls[1]
        assert f"seed={hidden.params['seed']}" in source_of(cell).split(HIDDEN_BEGIN)[1]


def test_hidden_texts_lists_each_hidden_line_and_nothing_visible(template: Template) -> None:
    expected = []
    for cell in source_cells().values():
        text = source_of(cell)
        if HIDDEN_BEGIN in text:
            expected += text.split(HIDDEN_BEGIN)[1].split(HIDDEN_END)[0].strip("\n").splitlines()
    assert expected and template.hidden_texts() == expected
    release_text = RELEASE.read_text(encoding="utf-8")
    assert not any(line in release_text for line in template.hidden_texts())


# --- rebuild ----------------------------------------------------------------------------------


def cell_for(rebuilt_cells: list[dict[str, Any]], grade_id: str) -> dict[str, Any]:
    (cell,) = [c for c in rebuilt_cells if nbgrader_of(c).get("grade_id") == grade_id]
    return cell


def test_an_untouched_release_rebuilds_without_tampering(template: Template, release: Notebook) -> None:
    rebuilt = rebuild(copy.deepcopy(release), template)
    assert rebuilt.tampering == [] and rebuilt.notes == []
    assert grade_ids(rebuilt.cells) == grade_ids(release["cells"])
    for grade_id, cell in source_cells().items():
        if template.by_id[grade_id].kind == "test":
            assert source_of(cell_for(rebuilt.cells, grade_id)) == source_of(cell)  # hidden tests back in


def test_student_answers_are_kept(template: Template, release: Notebook) -> None:
    answer = "def relu_forward(x):\n    return x * (x > 0)"
    release["cells"][index_of(release["cells"], "relu_forward")]["source"] = answer
    written = "Because the slope is zero there."
    release["cells"][index_of(release["cells"], "answer_relu")]["source"] = written
    rebuilt = rebuild(release, template)
    assert rebuilt.tampering == []
    assert source_of(cell_for(rebuilt.cells, "relu_forward")) == answer
    assert source_of(cell_for(rebuilt.cells, "answer_relu")) == written


def test_an_edited_test_cell_is_reported_and_restored_with_hidden_tests(template: Template,
                                                                        release: Notebook) -> None:
    release["cells"][index_of(release["cells"], "test_relu_forward")]["source"] = "pass  # trust me"
    rebuilt = rebuild(release, template)
    assert rebuilt.tampering == ["test cell test_relu_forward edited (original restored)"]
    restored = source_of(cell_for(rebuilt.cells, "test_relu_forward"))
    assert restored == source_of(source_cells()["test_relu_forward"])
    assert HIDDEN_BEGIN in restored and "trust me" not in restored


def test_a_test_cell_turned_into_markdown_is_reported_and_restored(template: Template,
                                                                  release: Notebook) -> None:
    cell = release["cells"][index_of(release["cells"], "test_relu_backward")]
    cell["cell_type"] = "markdown"
    del cell["outputs"], cell["execution_count"]
    rebuilt = rebuild(release, template)
    assert any("test_relu_backward" in line and "type" in line for line in rebuilt.tampering)
    assert cell_for(rebuilt.cells, "test_relu_backward")["cell_type"] == "code"


@pytest.mark.parametrize("grade_id, what", [
    pytest.param("test_tanh_forward", "cell", id="test-cell"),
    pytest.param("setup", "cell", id="setup-cell"),
    pytest.param("tanh_forward", "answer", id="answer-cell"),
])
def test_a_deleted_cell_is_reported_and_restored_in_place(template: Template, release: Notebook,
                                                          grade_id: str, what: str) -> None:
    release["cells"].pop(index_of(release["cells"], grade_id))
    rebuilt = rebuild(release, template)
    assert rebuilt.tampering == [f"{what} {grade_id} deleted (restored from the assignment)"]
    assert grade_ids(rebuilt.cells) == grade_ids(json.loads(RELEASE.read_text(encoding="utf-8"))["cells"])


def test_a_duplicated_test_cell_is_reported_and_graded_once(template: Template, release: Notebook) -> None:
    cells = release["cells"]
    i = index_of(cells, "test_relu_backward")
    twin = copy.deepcopy(cells[i])
    twin["id"] = "pasted-copy"
    cells.insert(i + 1, twin)
    rebuilt = rebuild(release, template)
    assert rebuilt.tampering == ["cell test_relu_backward duplicated (2 copies)"]
    assert grade_ids(rebuilt.cells).count("test_relu_backward") == 1


def test_moved_cells_are_named_fewest_first_and_graded_in_the_original_order(template: Template,
                                                                            release: Notebook) -> None:
    cells = release["cells"]
    cells.insert(1, cells.pop(index_of(cells, "test_tanh_forward")))
    rebuilt = rebuild(release, template)
    assert rebuilt.tampering == ["cells moved: test_tanh_forward (graded in the original order)"]
    assert grade_ids(rebuilt.cells) == grade_ids(json.loads(RELEASE.read_text(encoding="utf-8"))["cells"])


def test_swapping_two_neighbours_names_only_one_of_them(template: Template, release: Notebook) -> None:
    cells = release["cells"]
    i = index_of(cells, "question")
    cells[i], cells[i + 1] = cells[i + 1], cells[i]
    (line,) = rebuild(release, template).tampering
    moved = line.removeprefix("cells moved: ").split(" (")[0]
    assert moved in ("question", "answer_relu")


def test_an_answer_cell_pasted_twice_is_a_note_and_the_original_id_wins(template: Template,
                                                                       release: Notebook) -> None:
    cells = release["cells"]
    i = index_of(cells, "relu_forward")
    original_source = "def relu_forward(x):\n    return np.maximum(x, 0)"
    cells[i]["source"] = original_source
    copy_cell = copy.deepcopy(cells[i])
    copy_cell["id"] = "pasted-copy"
    copy_cell["source"] = "def relu_forward(x):\n    return x  # experiment"
    cells.insert(i, copy_cell)  # the copy comes first
    rebuilt = rebuild(release, template)
    assert rebuilt.tampering == []
    assert len(rebuilt.notes) == 1 and "relu_forward" in rebuilt.notes[0] and "2 times" in rebuilt.notes[0]
    assert source_of(cell_for(rebuilt.cells, "relu_forward")) == original_source
    kept = [c for c in rebuilt.cells if c.get("id") == "pasted-copy"]
    assert len(kept) == 1 and nbgrader_of(kept[0]) == {}
    assert source_of(kept[0]) == source_of(copy_cell)


def test_student_cells_stay_after_the_cell_they_followed(template: Template, release: Notebook) -> None:
    cells = release["cells"]
    mine = [
        {"cell_type": "code", "id": "mine-1", "metadata": {}, "outputs": [], "execution_count": 3,
         "source": "relu_forward(np.array([-1.0, 2.0]))"},
        {"cell_type": "markdown", "id": "mine-2", "metadata": {}, "source": "My notes"},
    ]
    cells.insert(index_of(cells, "relu_forward") + 1, mine[0])
    cells.insert(index_of(cells, "question") + 1, mine[1])
    cells.insert(0, {"cell_type": "raw", "id": "mine-0", "metadata": {}, "source": "top"})
    rebuilt = rebuild(release, template)
    assert rebuilt.tampering == []
    order = [c.get("id") if not nbgrader_of(c) else nbgrader_of(c)["grade_id"] for c in rebuilt.cells]
    assert order[0] == "mine-0"
    assert order[order.index("relu_forward") + 1] == "mine-1"
    assert order[order.index("question") + 1] == "mine-2"
    kept = next(c for c in rebuilt.cells if c.get("id") == "mine-1")
    assert kept["outputs"] == [] and kept["execution_count"] is None


@pytest.mark.parametrize("grade_id", ["answer_relu", "test_relu_forward", "relu_backward"])
def test_raised_points_are_reported_and_the_original_metadata_restored(template: Template,
                                                                      release: Notebook,
                                                                      grade_id: str) -> None:
    cell = release["cells"][index_of(release["cells"], grade_id)]
    cell["metadata"]["nbgrader"]["points"] = 100
    cell["metadata"]["nbgrader"]["grade"] = True
    rebuilt = rebuild(release, template)
    assert rebuilt.tampering == [f"grading metadata of {grade_id} changed (original restored)"]
    assert nbgrader_of(cell_for(rebuilt.cells, grade_id)) == nbgrader_of(template.by_id[grade_id].cell)


def test_a_changed_checksum_alone_is_not_tampering(template: Template, release: Notebook) -> None:
    cell = release["cells"][index_of(release["cells"], "relu_forward")]
    cell["metadata"]["nbgrader"]["checksum"] = "0" * 32
    assert rebuild(release, template).tampering == []


def test_a_notebook_without_any_graded_cell_is_invalid(template: Template, release: Notebook) -> None:
    for cell in release["cells"]:
        cell["metadata"] = {}
    expected = f"does not look like mini: none of its {len(template.anchors)} graded cells"
    with pytest.raises(InvalidSubmission, match=expected):
        rebuild(release, template)


# --- structure caps ---------------------------------------------------------------------------


def empty_cells(count: int) -> list[dict[str, Any]]:
    return [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": ""}
            for _ in range(count)]


def test_the_caps_follow_the_release(template: Template) -> None:
    released = json.loads(RELEASE.read_text(encoding="utf-8"))["cells"]
    assert template.cell_count == len(released) == 10
    assert template.max_cells == max(templates.CELLS_FACTOR * 10, templates.MIN_CELLS) == 50
    assert template.longest_source == max(len(source_of(c)) for c in released)
    assert template.max_cell_chars == templates.MIN_CELL_CHARS  # mini's cells are short


def test_a_notebook_at_the_cell_cap_is_graded(template: Template, release: Notebook) -> None:
    release["cells"] += empty_cells(template.max_cells - len(release["cells"]))
    assert rebuild(release, template).tampering == []


def test_two_hundred_thousand_empty_cells_are_refused_before_anything_runs(
        tmp_path: Path, template: Template, release: Notebook) -> None:
    release["cells"] += empty_cells(200_000)
    path = write(tmp_path, release)
    assert path.stat().st_size < notebook_file.MAX_NOTEBOOK_BYTES  # the byte cap alone lets it in
    with pytest.raises(InvalidSubmission) as caught:
        rebuild(read_notebook(path), template)
    assert str(caught.value) == (
        "the notebook has 200010 cells; mini accepts at most 50 (5× its 10): delete the empty or "
        "extra cells and submit again")


def test_one_cell_over_the_source_cap_is_refused_naming_it(template: Template, release: Notebook) -> None:
    release["cells"] += empty_cells(2)
    release["cells"][-1]["source"] = "x = 1\n" * (template.max_cell_chars // 6 + 1)
    with pytest.raises(InvalidSubmission, match=f"cell 12 has {len(release['cells'][-1]['source'])} "
                                                f"characters, more than {template.max_cell_chars}"):
        rebuild(release, template)
    release["cells"][-1]["source"] = "x" * template.max_cell_chars
    assert rebuild(release, template).tampering == []


def test_saved_outputs_beyond_the_cap_are_refused(template: Template, release: Notebook) -> None:
    cap = templates.OUTPUTS_PER_CELL * template.max_cells
    stream = {"output_type": "stream", "name": "stdout", "text": "."}
    release["cells"] += empty_cells(1)
    release["cells"][-1]["outputs"] = [stream] * cap
    assert rebuild(copy.deepcopy(release), template).tampering == []
    release["cells"][-1]["outputs"].append(stream)
    with pytest.raises(InvalidSubmission, match=f"holds {cap + 1} outputs, more than {cap}: clear"):
        rebuild(release, template)
