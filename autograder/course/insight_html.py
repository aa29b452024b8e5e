"""The class insight report as self-contained HTML: one page per assignment and a course overview.

Pages embed their plots as PNG data URIs and carry their CSS inline, so a page
opens offline, from an e-mail attachment or a USB stick. Text is English or
Chinese (:class:`nnlab.i18n.Text`); plot axes use plain ASCII words, as the
notebooks' explorers do, because matplotlib's default font has no CJK glyphs.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from nnlab.i18n import Text

from autograder.course.insight import AssignmentInsight, CheckStat
from autograder.course.lateness import describe_late

#: a visible pass rate this far above the hidden one suggests answers fitted to the visible tests.
GAP_WARNING = 0.2

T = {
    "title": Text("Class insight", "班级学情报告"),
    "overview": Text("Course overview", "课程总览"),
    "submissions": Text("submissions", "份提交"),
    "scores": Text("Score distribution", "分数分布"),
    "mean": Text("mean {mean} · median {median} of {max}", "平均 {mean} · 中位数 {median}（满分 {max}）"),
    "statuses": Text("Statuses", "评分状态"),
    "status": Text("status", "状态"), "count": Text("count", "数量"), "students": Text("students", "学生"),
    "times": Text("Grading time", "评分耗时"),
    "median_time": Text("median {median} s per submission; slowest: {slowest}",
                        "每份提交中位数 {median} 秒；最慢：{slowest}"),
    "checks": Text("Checks: visible and hidden pass rates", "各项检查：公开与隐藏测试通过率"),
    "cell": Text("test cell", "测试单元格"), "check": Text("check", "检查"),
    "visible": Text("visible", "公开测试"), "hidden": Text("hidden", "隐藏测试"),
    "gap": Text("visible passes far more often than hidden: answers may fit the visible tests",
                "公开测试通过率远高于隐藏测试：答案可能只迎合了公开测试"),
    "causes": Text("What the class misunderstood: commonest failure causes",
                   "班级的主要误解：最常见的失败原因"),
    "rank": Text("#", "#"), "cause": Text("likely cause", "可能原因"),
    "example": Text("example message (anonymised)", "示例信息（已匿名）"),
    "no_causes": Text("No check failed.", "没有失败的检查。"),
    "not_started": Text("Not attempted (left as released), students per check: {counts}",
                        "尚未作答（保持发布时的样子），各检查的学生数：{counts}"),
    "written": Text("Written answers", "书面回答"),
    "pending": Text("{cells} answer(s) in {subs} submission(s) still to grade in formgrader.",
                    "还有 {subs} 份提交中的 {cells} 个回答需要在 formgrader 中评分。"),
    "none_pending": Text("All written answers are graded.", "所有书面回答均已评分。"),
    "late": Text("Late submissions", "迟交"),
    "late_line": Text("{student}: late by {late}, penalty {penalty}",
                      "{student}：迟交 {late}，扣分 {penalty}"),
    "stamp_line": Text("{student}: {problem}", "{student}：{problem}"),
    "none_late": Text("None late.", "没有迟交。"),
    "generated": Text("generated {when}", "生成于 {when}"),
    "assignment": Text("assignment", "作业"), "mean_score": Text("mean score", "平均分"),
    "top_cause": Text("commonest cause", "最常见原因"),
    "measured": Text("Measured on the hidden split: {check} {measure}",
                     "隐藏测试集上的测量：{check} {measure}"),
    "measured_line": Text("{n} students · median {median} · lowest {low} · highest {high} (judged by the "
                          "grader on data the submissions never saw)",
                          "{n} 名学生 · 中位数 {median} · 最低 {low} · 最高 {high}"
                          "（由评分程序在提交从未见过的数据上判定）"),
}

CSS = """body{font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Zen Hei",sans-serif;margin:2rem auto;
max-width:68rem;color:#222;line-height:1.45}h1{margin-bottom:.2rem}
h2{margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f4f4f4}td.n{text-align:right;white-space:nowrap}
pre{white-space:pre-wrap;margin:0;font-size:.85em}.warn{color:#a40}.muted{color:#777}img{max-width:100%}"""


def _t(key: str, language: str, **values: object) -> str:
    return html.escape(T[key].format(**values).render(language) if values else T[key].render(language))


def _png(figure: object) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight")  # type: ignore[attr-defined]
    plt.close(figure)  # type: ignore[arg-type]
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="" src="data:image/png;base64,{data}">'


def score_histogram(insight: AssignmentInsight) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(6, 2.6))
    top = max((r.max_score for r in insight.rows), default=1.0) or 1.0
    ax.hist([r.score for r in insight.rows], bins=min(20, max(5, int(top) + 1)), range=(0, top),
            color="#4a7ab5", edgecolor="white")
    ax.set_xlabel("score")
    ax.set_ylabel("students")
    return _png(figure)


def check_chart(pairs: list[tuple[str, float | None, float | None]]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(6, 0.35 * len(pairs) + 0.8))
    labels = [name for name, _, _ in pairs]
    rows = range(len(pairs))
    ax.barh([y - 0.2 for y in rows], [100 * (v or 0) for _, v, _ in pairs], height=0.4,
            label="visible", color="#4a7ab5")
    ax.barh([y + 0.2 for y in rows], [100 * (h or 0) for _, _, h in pairs], height=0.4,
            label="hidden", color="#d98b3a")
    ax.set_yticks(list(rows), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% passed")
    ax.legend(loc="lower right", fontsize=8)
    return _png(figure)


def check_pairs(checks: list[CheckStat]) -> list[tuple[str, float | None, float | None]]:
    """(cell · check, visible rate, hidden rate) per check of each test cell."""
    grouped: dict[tuple[str, str], dict[bool, list[CheckStat]]] = {}
    for stat in checks:
        grouped.setdefault((stat.cell, stat.name), {}).setdefault(stat.hidden, []).append(stat)

    def rate(stats: list[CheckStat] | None) -> float | None:
        runs = sum(s.runs for s in stats or [])
        return sum(s.passed for s in stats or []) / runs if runs else None

    return [(f"{name} ({cell})", rate(by.get(False)), rate(by.get(True)))
            for (cell, name), by in grouped.items()]


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(rows_cell for rows_cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _td(text: object, numeric: bool = False) -> str:
    return f'<td class="n">{html.escape(str(text))}</td>' if numeric else f"<td>{html.escape(str(text))}</td>"


def assignment_page(insight: AssignmentInsight, *, language: str, now: datetime | None = None) -> str:
    """The whole HTML page for one assignment."""
    parts = [f"<h1>{_t('title', language)} · {html.escape(insight.assignment)}</h1>",
             f'<p class="muted">{len(insight.rows)} {_t("submissions", language)} · '
             f'{_t("generated", language, when=(now or datetime.now()).strftime("%Y-%m-%d %H:%M"))}</p>']
    parts += _scores_section(insight, language) + _status_section(insight, language)
    parts += _checks_section(insight, language) + _measures_section(insight, language)
    parts += _causes_section(insight, language)
    parts += _written_and_late(insight, language)
    return _page(f"{T['title'].render(language)} · {insight.assignment}", parts, language)


def _scores_section(insight: AssignmentInsight, language: str) -> list[str]:
    scores = sorted(r.score for r in insight.rows)
    top = max((r.max_score for r in insight.rows), default=0.0)
    mean = sum(scores) / len(scores) if scores else 0.0
    median = scores[len(scores) // 2] if scores else 0.0
    return [f"<h2>{_t('scores', language)}</h2>",
            f"<p>{_t('mean', language, mean=f'{mean:.2f}', median=f'{median:g}', max=f'{top:g}')}</p>",
            score_histogram(insight)]


def _status_section(insight: AssignmentInsight, language: str) -> list[str]:
    rows = [[_td(status), _td(len(students), True),  # the students only where a look is needed
             _td("" if status == "ok" else ", ".join(sorted(students)))]
            for status, students in insight.statuses.items()]
    slowest = ", ".join(f"{s} {v:.1f} s" for s, v in insight.slowest())
    median = insight.median_seconds
    times = (f"<p>{_t('median_time', language, median=f'{median:.1f}', slowest=slowest)}</p>"
             if median is not None else "")
    return [f"<h2>{_t('statuses', language)}</h2>",
            _table([_t("status", language), _t("count", language), _t("students", language)], rows),
            f"<h3>{_t('times', language)}</h3>", times]


def _checks_section(insight: AssignmentInsight, language: str) -> list[str]:
    pairs = check_pairs(insight.checks)
    if not pairs:
        return []
    rows = []
    for name, visible, hidden in pairs:
        gap = visible is not None and hidden is not None and visible - hidden >= GAP_WARNING
        note = f'<td class="warn">{_t("gap", language)}</td>' if gap else "<td></td>"
        rows.append([_td(name), _td(_percent(visible), True), _td(_percent(hidden), True), note])
    return [f"<h2>{_t('checks', language)}</h2>", check_chart(pairs),
            _table([_t("check", language), _t("visible", language), _t("hidden", language), ""], rows)]


def measure_histogram(values: list[float], measure: str) -> str:
    """The class's distribution of one hidden-split measure (e.g. accuracy)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(6, 2.6))
    ax.hist(values, bins=20, range=(0.0, 1.0) if measure == "accuracy" else None,
            color="#4a7ab5", edgecolor="white")
    ax.set_xlabel(measure.replace("_", " "))
    ax.set_ylabel("students")
    return _png(figure)


def _measures_section(insight: AssignmentInsight, language: str) -> list[str]:
    parts = []
    for check, measures in sorted(insight.hidden_measures.items()):
        for measure, by_student in sorted(measures.items()):
            values = sorted(by_student.values())
            if not values:
                continue
            median = values[len(values) // 2] if len(values) % 2 else (
                values[len(values) // 2 - 1] + values[len(values) // 2]) / 2
            title = _t("measured", language, check=html.escape(check), measure=html.escape(measure))
            line = _t("measured_line", language, n=len(values), median=f"{median:.3f}",
                      low=f"{values[0]:.3f}", high=f"{values[-1]:.3f}")
            parts += [f"<h2>{title}</h2>", f"<p>{line}</p>",
                      measure_histogram(values, measure)]
    return parts


def _causes_section(insight: AssignmentInsight, language: str) -> list[str]:
    causes = [c for c in insight.causes if not c.not_started]
    left = [c for c in insight.causes if c.not_started]
    parts = [f"<h2>{_t('causes', language)}</h2>"]
    if causes:
        rows = [[_td(n, True), _td(c.check), _td(c.text), _td(c.count, True),
                 f"<td><pre>{html.escape(c.example)}</pre></td>"]
                for n, c in enumerate(causes[:15], start=1)]
        header = [_t(k, language) for k in ("rank", "check", "cause", "students", "example")]
        parts.append(_table(header, rows))
    else:
        parts.append(f"<p>{_t('no_causes', language)}</p>")
    if left:
        counts = ", ".join(f"{c.check} {c.count}" for c in left)
        parts.append(f'<p class="muted">{_t("not_started", language, counts=counts)}</p>')
    return parts


def _written_and_late(insight: AssignmentInsight, language: str) -> list[str]:
    written = (_t("pending", language, cells=insight.pending_cells, subs=insight.pending_submissions)
               if insight.pending_cells else _t("none_pending", language))
    late = [_t("late_line", language, student=r.student_id, late=describe_late(r.late.seconds_late),
               penalty=f"{r.late.penalty:g}") for r in insight.rows if r.late.seconds_late > 0]
    late += [_t("stamp_line", language, student=r.student_id, problem=r.late.timestamp_problem)
             for r in insight.rows if r.late.timestamp_problem]
    items = "".join(f"<li>{line}</li>" for line in late) or f"<li>{_t('none_late', language)}</li>"
    return [f"<h2>{_t('written', language)}</h2>", f"<p>{written}</p>",
            f"<h2>{_t('late', language)}</h2>", f"<ul>{items}</ul>"]


def overview_page(insights: list[AssignmentInsight], *, language: str) -> str:
    """The course overview: one row per assignment, linking its page."""
    rows = []
    for insight in insights:
        scores = [r.score for r in insight.rows]
        mean = sum(scores) / len(scores) if scores else 0.0
        top = insight.causes[0] if insight.causes else None
        name = html.escape(insight.assignment)
        link = f'<td><a href="{name}.html">{name}</a></td>'
        statuses = ", ".join(f"{s} {len(v)}" for s, v in insight.statuses.items())
        rows.append([link, _td(len(insight.rows), True), _td(f"{mean:.2f}", True), _td(statuses),
                     _td(f"{top.check}: {top.text} ({top.count})" if top else "–")])
    header = [_t(k, language) for k in ("assignment", "submissions", "mean_score", "statuses",
                                        "top_cause")]
    parts = [f"<h1>{_t('overview', language)}</h1>", _table(header, rows)]
    return _page(T["overview"].render(language), parts, language)


def _page(title: str, parts: list[str], language: str) -> str:
    lang = "zh-CN" if language == "zh" else "en"
    return (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
            + "\n".join(parts) + "</body></html>\n")


def write_reports(*, course_dir: str | Path | None = None, assignment: str | None = None,
                  language: str = "en", output_dir: str | Path | None = None) -> list[Path]:
    """Write ``reports/<assignment>.html`` (one, or every graded one plus ``index.html``).

    Raises:
        CourseError: an unknown assignment, or nothing graded yet.
    """
    from autograder.course.insight import collect, course_assignments
    from autograder.course.layout import Course, CourseError

    if language not in ("en", "zh"):
        raise CourseError(f"report language must be en or zh, got {language!r}")
    course = Course.at(course_dir)
    if assignment is not None:
        course.require_assignment(assignment)
    chosen = [assignment] if assignment else course_assignments(course)
    if not chosen:
        raise CourseError(f"nothing graded yet in {course.course_dir}; run `python -m autograder "
                          "grade ASSIGNMENT` first")
    folder = Path(output_dir) if output_dir else course.course_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    insights = [collect(course, name) for name in chosen]
    paths = []
    for insight in insights:
        path = folder / f"{insight.assignment}.html"
        path.write_text(assignment_page(insight, language=language), encoding="utf-8")
        paths.append(path)
    if assignment is None:
        path = folder / "index.html"
        path.write_text(overview_page(insights, language=language), encoding="utf-8")
        paths.append(path)
    return paths
