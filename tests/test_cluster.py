"""Grading on a Dask cluster (a real LocalCluster of worker processes) matches a local run."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.devtools import classgen
from tests.conftest import TEST_COURSE, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cluster")]


def _class(course, course_dir: Path) -> None:
    makers = (classgen.perfect, classgen.wrong, classgen.blank, classgen.partial)
    for i in range(6):
        classgen.write_submission(course_dir, f"s{i}", "mini", makers[i % 4](course, "mini"))
    classgen.write_submission(course_dir, "broken", "mini", "{ not json")
    (course_dir / "submitted" / "absent" / "mini").mkdir(parents=True)
    # links are refused before a task is sent: the cluster never receives the instructor's notebook
    (course_dir / "submitted" / "linked" / "mini").mkdir(parents=True)
    (course_dir / "submitted" / "linked" / "mini" / "mini.ipynb").symlink_to(
        TEST_COURSE / "solutions" / "mini" / "mini.ipynb")


def _grades(course_dir: Path) -> list[str]:
    run_cli("export", "--course-dir", str(course_dir), repo=TEST_COURSE)
    return (course_dir / "grades.csv").read_text(encoding="utf-8").splitlines()


def test_dask_cluster_gradebook_matches_a_local_run(tmp_path: Path, test_course, monkeypatch) -> None:
    distributed = pytest.importorskip("distributed")
    monkeypatch.setenv("NNLAB_REPO", str(TEST_COURSE))  # the workers' copy of the course
    local, remote = tmp_path / "local", tmp_path / "remote"
    _class(test_course, local)
    _class(test_course, remote)
    run_cli("grade", "mini", "--course-dir", str(local), "--no-progress", repo=TEST_COURSE)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        result = run_cli("grade", "mini", "--course-dir", str(remote), "--scheduler",
                         cluster.scheduler_address, "--no-progress", repo=TEST_COURSE)
        with distributed.Client(cluster.scheduler_address) as client:
            ran_on = client.run(lambda: __import__("os").getpid())
    assert "graded 9 " in result.stdout and "0 grader errors" in result.stdout
    assert "linked: invalid: submitted/linked/mini/mini.ipynb is a symbolic link" in result.stdout
    assert len(ran_on) == 2
    assert _grades(remote) == _grades(local)


def test_unreachable_scheduler_is_a_clear_error(tmp_path: Path, test_course) -> None:
    _class(test_course, tmp_path)
    result = run_cli("grade", "mini", "--course-dir", str(tmp_path), "--scheduler",
                     "tcp://127.0.0.1:9", "--no-progress", repo=TEST_COURSE, check=False)
    assert result.returncode == 1
    assert "cannot reach the Dask scheduler" in result.stderr
