"""``python -m autograder <verb>``: release, grade, export, feedback, import, report, demo, bench,
settings, translations.

Exit status: 0 success, 1 a problem with the course or the input (the
message says what to do), 2 a usage error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from autograder.course.layout import CourseError
from autograder.course.settings import Settings, course_language, load_settings

log = logging.getLogger("autograder")


def _add_course_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--course-dir", metavar="DIR", default=None,
                        help="folder with submitted/, autograded/, feedback/ and gradebook.db "
                             "(default: the repository root)")


def _add_settings(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("limits (override autograder.toml; see `settings`)")
    for name, default, description in Settings.describe():
        if name == "workers":
            continue
        flag = "--" + name.replace("_", "-")
        kind = type(default)
        if kind is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                               help=f"{description} (default {'yes' if default else 'no'})")
            continue
        group.add_argument(flag, type=kind, default=None, metavar=kind.__name__.upper(),
                           help=f"{description} (default {default})")


def _settings(args: argparse.Namespace) -> Settings:
    course_dir = args.course_dir
    from autograder.course.layout import Course

    base = load_settings(Course.at(course_dir).course_dir)
    values = {name: getattr(args, name, None) for name, _, _ in Settings.describe()}
    return base.replace(**values)


def _cmd_release(args: argparse.Namespace) -> int:
    from autograder.course.layout import EDITIONS, Course
    from autograder.course.release import release

    problems = release(assignments=args.assignments or None)
    for assignment in args.assignments or Course.at().assignments():
        released = [f"{folder}/{assignment}/{assignment}.ipynb" for folder in EDITIONS.values()]
        print("released " + ", ".join(released))
    cells = {(p.path, p.cell_id) for p in problems if not p.warning}
    if cells:
        print(f"{len(cells)} cell(s) of the translated editions are not translated, or not from the "
              "current English: `python -m autograder translations check` lists them", file=sys.stderr)
    return 0


def _cmd_translations(args: argparse.Namespace) -> int:
    from autograder.course.translation_cli import run_translations

    return run_translations(action=args.action, notebooks=args.notebooks, language=args.language,
                            accept=tuple(args.accept or ()), warnings=args.warnings)


def _cmd_grade(args: argparse.Namespace) -> int:
    from autograder.grading.grade_class import grade_class

    report = grade_class(assignment=args.assignment, course_dir=args.course_dir,
                         settings=_settings(args), force=args.force,
                         students=args.student or None, scheduler=args.scheduler,
                         progress=False if args.no_progress else None)
    counts = ", ".join(f"{n} {s}" for s, n in sorted(report.counts().items())) or "nothing new"
    print(f"{args.assignment}: graded {len(report.graded)} ({counts}); "
          f"{len(report.skipped)} unchanged and skipped; {len(report.errors)} grader errors")
    for outcome in report.graded:
        if outcome.status != "ok":
            print(f"  {outcome.student}: {outcome.status}: {outcome.reason}")
    for student, error in report.errors:
        print(f"  {student}: grader error (not graded, run again): {error}")
    _print_late(args.assignment, args.course_dir, {o.student for o in report.graded})
    return 1 if report.errors else 0


def _print_late(assignment: str, course_dir: str | None, students: set[str]) -> None:
    """Timestamps not used and late penalties of the submissions just graded."""
    from autograder.course.grade_rows import gradebook_rows
    from autograder.course.lateness import describe_late
    from autograder.course.layout import Course

    for row in gradebook_rows(Course.at(course_dir), [assignment]):
        if row.student_id not in students:
            continue
        if row.late.timestamp_problem:
            print(f"  {row.student_id}: {row.late.timestamp_problem}")
        if row.late.seconds_late > 0:
            print(f"  {row.student_id}: late by {describe_late(row.late.seconds_late)}, "
                  f"penalty {row.late.penalty:g}")


def _cmd_export(args: argparse.Namespace) -> int:
    from autograder.course.export import export_grades

    result = export_grades(course_dir=args.course_dir, fmt=args.format, output=args.output,
                           assignments=args.assignment or None)
    for path in result.paths:
        print(f"wrote {path}")
    if result.pending_manual:
        print(f"{len(result.pending_manual)} grade(s) left empty, not 0: written answers not graded "
              "yet in formgrader (" + ", ".join(f"{s}/{a}" for s, a in result.pending_manual[:10])
              + (", ..." if len(result.pending_manual) > 10 else "") + ")")
    if result.unmapped:
        print(f"not written: {len(result.unmapped)} student(s) with no {args.format} identity "
              f"(import their {args.format} download first): {', '.join(result.unmapped)}",
              file=sys.stderr)
        return 1
    return 0


def _cmd_feedback(args: argparse.Namespace) -> int:
    from autograder.course.feedback import feedback

    report = feedback(assignment=args.assignment, course_dir=args.course_dir, student=args.student)
    print(f"wrote {len(report.pages)} feedback file(s)")
    for student, why in report.refused:
        print(f"no feedback for {student}: {why}", file=sys.stderr)
    return 1 if report.refused else 0


def _cmd_import(args: argparse.Namespace) -> int:
    from autograder.course.lms_import import import_zip

    result = import_zip(assignment=args.assignment, archive=args.archive, course_dir=args.course_dir,
                        roster=args.roster)
    for student, path in result.imported:
        print(f"imported {student}: {path}")
    for path, backup in result.replaced:
        print(f"replaced {path} (the earlier file is kept at {backup})")
    for member, kept in result.set_aside:
        print(f"{member}: a student's own timestamp.txt; kept as {kept}, not used as the "
              "submission time")
    for problem in result.problems:
        print(f"not imported: {problem}", file=sys.stderr)
    return 1 if result.problems else 0


def _cmd_report(args: argparse.Namespace) -> int:
    from autograder.course.insight_html import write_reports
    from autograder.course.layout import Course

    language = args.language or course_language(Course.at(args.course_dir).course_dir)
    for path in write_reports(course_dir=args.course_dir, assignment=args.assignment,
                              language=language, output_dir=args.output_dir):
        print(f"wrote {path}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from autograder.devtools.demo import run_demo

    run_demo(course_dir=args.course_dir, assignments=args.assignment or None,
             progress=False if args.no_progress else None, language=args.language)
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from autograder.devtools.bench import run_bench

    run_bench(per_notebook=args.per_notebook, assignments=args.assignment or None,
              workers=args.workers, dask_workers=args.dask_workers, skip_stock=args.skip_stock)
    return 0


def _cmd_settings(args: argparse.Namespace) -> int:
    from autograder.course.layout import Course

    current = load_settings(Course.at(args.course_dir).course_dir)
    for name, default, description in Settings.describe():
        print(f"{name} = {getattr(current, name)!r}   (default {default!r})\n    {description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    verbs = parser.add_subparsers(dest="verb", required=True)
    for add in (_add_grading_verbs, _add_class_verbs, _add_developer_verbs, _add_upkeep_verbs):
        add(verbs)  # in this order: the order `--help` lists the verbs in
    return parser


Verbs = argparse._SubParsersAction  # the type of what ``add_subparsers`` returns


def _add_grading_verbs(verbs: Verbs) -> None:
    """release, grade, export, feedback: the course's main line."""
    p = verbs.add_parser("release", help="regenerate assignments/ from solutions/ (nbgrader)")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    p.set_defaults(run=_cmd_release)

    p = verbs.add_parser("grade", help="grade every submission of an assignment")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    _add_course_dir(p)
    p.add_argument("--workers", type=int, default=None, help="submissions at once (default: cores)")
    p.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster at ADDRESS")
    p.add_argument("--no-progress", action="store_true", help="plain log lines, no progress bar")
    _add_settings(p)
    p.set_defaults(run=_cmd_grade)

    p = verbs.add_parser("export", help="write grades (with status) to a CSV file")
    _add_course_dir(p)
    p.add_argument("--output", metavar="PATH", help="default: grades.csv in the course folder")
    p.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    p.add_argument("--format", choices=("csv", "canvas", "moodle"), default="csv",
                   help="csv (all columns, default), canvas (gradebook import CSV) or moodle "
                        "(grading worksheet, one per assignment); canvas and moodle use the "
                        "identities `import` recorded")
    p.set_defaults(run=_cmd_export)

    p = verbs.add_parser("feedback", help="write HTML feedback (never with hidden tests)")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    _add_course_dir(p)
    p.add_argument("--student", help="only this student")
    p.set_defaults(run=_cmd_feedback)


def _add_class_verbs(verbs: Verbs) -> None:
    """import, report: submissions in from an LMS, insight out to the instructor."""
    p = verbs.add_parser("import", help="import an LMS zip of submissions into submitted/")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument("archive", metavar="ZIPFILE")
    _add_course_dir(p)
    p.add_argument("--roster", metavar="CSV", help="CSV with columns student_id and lms_name "
                   "(or lms_id) mapping LMS names to student ids")
    p.set_defaults(run=_cmd_import)

    p = verbs.add_parser("report", help="class insight report (HTML): scores, statuses, what "
                         "the class misunderstood, written answers still to grade, late work")
    p.add_argument("assignment", metavar="ASSIGNMENT", nargs="?",
                   help="one assignment (default: every graded one, plus a course overview)")
    _add_course_dir(p)
    p.add_argument("--language", choices=("en", "zh"), default=None,
                   help="language of the report (default: the class's language, see `settings`)")
    p.add_argument("--output-dir", metavar="DIR", help="default: reports/ in the course folder")
    p.set_defaults(run=_cmd_report)


def _add_developer_verbs(verbs: Verbs) -> None:
    """demo, bench: the grader run on generated classes."""
    p = verbs.add_parser("demo", help="grade a demo class made from the notebooks and print it")
    _add_course_dir(p)
    p.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--language", choices=("en", "zh"), default="en",
                   help="the student edition the demo class works in (default en)")
    p.set_defaults(run=_cmd_demo)

    p = verbs.add_parser("bench", help="time stock nbgrader autograde against this grader")
    p.add_argument("--per-notebook", type=int, default=40, help="submissions per notebook")
    p.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    p.add_argument("--workers", type=int, default=None, help="local workers (default: cores)")
    p.add_argument("--dask-workers", type=int, nargs="*", default=[1, 2],
                   help="Dask LocalCluster sizes to time (default: 1 2)")
    p.add_argument("--skip-stock", action="store_true", help="do not run stock nbgrader")
    p.set_defaults(run=_cmd_bench)


def _add_upkeep_verbs(verbs: Verbs) -> None:
    """translations, settings."""
    p = verbs.add_parser("translations", help="check or update the translation files (i18n/LANG/NB.md)")
    p.add_argument("action", choices=("check", "update"),
                   help="check: list every problem; update: add entries for new cells, drop "
                        "entries of removed cells, accept revised ones (--accept)")
    p.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help="default: every notebook")
    p.add_argument("--language", default="zh", help="the translation (default zh)")
    p.add_argument("--accept", action="append", metavar="CELL_ID",
                   help="update: the translation of this stale cell is revised; record the new "
                        "English hash (repeatable)")
    p.add_argument("--warnings", action="store_true", help="check: also list warnings")
    p.set_defaults(run=_cmd_translations)

    p = verbs.add_parser("settings", help="show the grader's settings and what they mean")
    _add_course_dir(p)
    p.set_defaults(run=_cmd_settings)


def _without_iri_grammars() -> None:
    """Keep the optional ``rfc3987_syntax`` out of this process.

    jsonschema imports it when present (Jupyter's event schemas ask for it) and it compiles 38
    grammars on import: 1.2–1.5 s of CPU, which every command that reads a notebook or the
    gradebook (nbformat, nbgrader) paid before doing anything, while the grader's workers were
    starting beside it. Nothing here checks an IRI's syntax (nbformat's schemas have no ``format``
    keyword). Servers the commands start are other processes and keep it.
    """
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # None: "not importable"


def main(argv: Sequence[str] | None = None) -> int:
    _without_iri_grammars()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s: %(message)s", stream=sys.stderr)
    try:
        return args.run(args)
    except (CourseError, ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
