"""WideSearch-compatible evaluation: tasks and gold tables, the scorer, the judge seam.

``evals`` may import ``agent``; nothing in ``agent``, ``tools``, ``retriever`` or ``memory``
imports ``evals``. Scoring has two modes, documented in :mod:`evals.scorer` and
``evals/README.md``: the default reproduces the official WideSearch evaluator's numbers
exactly, quirks included; ``strict=True`` fixes the quirks.
"""

from evals.judge import ChatModelJudge, FallbackJudge, Judge, ZeroJudge, resolve_judge
from evals.metrics import (
    date_near,
    exact_match,
    extract_number,
    f1,
    norm_date,
    norm_str,
    number_near,
    strict_date_near,
    strict_exact_match,
    strict_extract_number,
    strict_norm_date,
    strict_norm_str,
    strict_number_near,
    strict_url_match,
    url_match,
)
from evals.scorer import (
    METRIC_NAMES,
    MetricSummary,
    ScoreReport,
    TaskScore,
    ascore_response,
    ascore_responses_dir,
    find_response_files,
    score_response,
    score_responses_dir,
)
from evals.table import (
    ParsedTable,
    TableError,
    norm_column,
    read_table_official,
    read_table_strict,
    render_markdown_table,
)
from evals.tasks import (
    ColumnEval,
    Evaluation,
    GoldTable,
    Task,
    TaskProblem,
    load_tasks,
    read_gold,
)

__all__ = [
    "METRIC_NAMES",
    "ChatModelJudge",
    "ColumnEval",
    "Evaluation",
    "FallbackJudge",
    "GoldTable",
    "Judge",
    "MetricSummary",
    "ParsedTable",
    "ScoreReport",
    "TableError",
    "Task",
    "TaskProblem",
    "TaskScore",
    "ZeroJudge",
    "ascore_response",
    "ascore_responses_dir",
    "date_near",
    "exact_match",
    "extract_number",
    "f1",
    "find_response_files",
    "load_tasks",
    "norm_column",
    "norm_date",
    "norm_str",
    "number_near",
    "read_gold",
    "read_table_official",
    "read_table_strict",
    "render_markdown_table",
    "resolve_judge",
    "score_response",
    "score_responses_dir",
    "strict_date_near",
    "strict_exact_match",
    "strict_extract_number",
    "strict_norm_date",
    "strict_norm_str",
    "strict_number_near",
    "strict_url_match",
    "url_match",
]
