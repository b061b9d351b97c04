"""Cell-level preprocessing and metrics, in two modes.

Official mode (the default) reproduces the WideSearch evaluator (ByteDance-Seed/WideSearch,
``src/evaluation/metric_utils.py``) value for value, quirks included:

- ``extract_number``: commas are deleted (``"1,5"`` reads 15), then the first match of
  ``[-+]?(\\d*\\.\\d+|\\d+\\.?\\d*)%?`` is kept *as text*; no match gives the string ``"NULL"``.
  Only a directly attached ``%`` survives (``"12 %"`` reads 12), scale words are ignored
  (``"1.2 million"`` reads 1.2), a Unicode minus or accounting parentheses lose the sign
  (``"−5"`` and ``"(5)"`` read 5), an exponent is cut (``"1e6"`` reads 1).
- ``norm_str``: lower-case, strip, remove ASCII spaces and ``*`` (nothing else).
- ``norm_date``: ``dateparser.parse`` with ``PREFER_DAY_OF_MONTH=first`` to ``YYYY-MM-DD``, the
  text unchanged when it does not parse. Through dateparser numeric dates are month-first when
  ambiguous, a bare year reads as day 1 of the *current* month of that year, and ``"nan"``
  (an empty or ``NA`` cell, see :mod:`evals.table`) reads as 1 August of the current year.
- ``exact_match``: case-insensitive equality of the two texts.
- ``number_near``: a ``%`` anywhere divides by 100; texts that do not convert with ``float`` are
  ``None``; two non-numbers score 1 when their texts are equal (so two ``"NULL"`` cells match);
  otherwise ``|r - t| <= |t| * criterion``. ``"nan"`` never matches anything.
- ``date_near``: both sides through ``dateparser``; both unparseable scores 1; one unparseable
  scores 0; else at most 31 days apart.
- ``url_match``: the sets of ``urlparse(...).netloc`` of every ``http(s)://`` URL in each cell
  are equal, so two cells with no URL at all match; an unparseable URL (``http://[x``) raises,
  and the evaluator then scores the whole task 0.

Strict mode (``strict=True``) keeps the metric definitions but removes the quirks:

- ``extract_number`` returns a float or ``None``: thousands separators only between digit
  groups, Unicode minus, accounting parentheses, exponents, ``%`` with or without a space, and
  scale words (thousand/million/billion/trillion, k/M/B/bn/mn suffixes, 万/亿) are understood.
- ``norm_str`` applies NFKC, case-folding, and removes every whitespace and zero-width
  character and ``*``.
- ``norm_date`` is a deterministic parser (no "now"): ISO and ``Y/M/D`` dates, ``Y-M`` (day 1),
  a bare year (1 January), month names in English, ``YYYY年M月D日``; an ambiguous numeric
  ``a/b/YYYY`` is kept as both readings and matches when either is near the target.
- ``number_near``/``date_near``/``url_match``: when one side has no number/date/URL the two
  cells match only if their normalised texts are equal (empty equals empty).
- ``url_match`` compares hosts case-insensitively without ``www.`` or a port, recognises bare
  domains (``example.org/x``) and never raises.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlparse

# --------------------------------------------------------------------------------------------
# official mode

_OFFICIAL_NUMBER = re.compile(r"[-+]?(?:\d*\.\d+|\d+\.?\d*)%?")
# Same characters as the evaluator's URL pattern: letters, digits, the ASCII range '$'..'_'
# (which holds most punctuation), and ! * \ ( ) ,
_OFFICIAL_URL = re.compile(r"https?://[A-Za-z0-9$-_!*\\(),]+")
_DATEPARSER_SETTINGS = {"PREFER_DAY_OF_MONTH": "first"}


@functools.lru_cache(maxsize=65536)
def _dateparse_on(text: str, today: str) -> datetime | None:
    import dateparser  # imported lazily: only date columns need it

    result: datetime | None = dateparser.parse(text, settings=_DATEPARSER_SETTINGS)
    return result


def _dateparse(text: str) -> datetime | None:
    """``dateparser.parse`` as the evaluator calls it, cached per text and calendar day
    (dateparser fills missing parts from today's date; a cached "now" may be seconds old)."""
    if not isinstance(text, str):  # the evaluator passes text; anything else fails as there
        return _dateparse_on.__wrapped__(text, "")
    return _dateparse_on(text, date.today().isoformat())


def extract_number(content: Any) -> str:
    """Official: the first number of the text (commas removed) as text, or ``"NULL"``."""
    match = _OFFICIAL_NUMBER.search(str(content).replace(",", ""))
    return match.group(0) if match else "NULL"


def norm_str(content: Any) -> str:
    """Official: lower-case, strip, remove ASCII spaces and ``*``."""
    return str(content).lower().strip().replace(" ", "").replace("*", "")


def norm_date(content: Any) -> Any:
    """Official: ``YYYY-MM-DD`` when dateparser reads the text, else the text unchanged."""
    parsed = _dateparse(content)
    return content if parsed is None else parsed.strftime("%Y-%m-%d")


def exact_match(response: str, target: str) -> float:
    """Official: case-insensitive equality."""
    return 1.0 if response.lower() == target.lower() else 0.0


def _official_float(text: str) -> float | None:
    try:
        if "%" in text:
            return float(text.replace("%", "")) / 100.0
        return float(text)
    except (ValueError, TypeError):
        return None


def in_match(response: str, target: str) -> float:
    """Official (registered, unused by the datasets): the response is a substring of the target."""
    return 1.0 if response in target else 0.0


def number_near(response: str, target: str, criterion: Any) -> float:
    """Official: relative tolerance ``criterion``; two equal non-numbers match."""
    r = _official_float(response)
    t = _official_float(target)
    if r is None or t is None:
        return 1.0 if r is None and t is None and response == target else 0.0
    return 1.0 if abs(r - t) <= abs(t) * criterion else 0.0


def date_near(response: str, target: str) -> float:
    """Official: within 31 days; both unparseable scores 1."""
    try:
        r = _dateparse(response)
    except Exception:
        r = None
    try:
        t = _dateparse(target)
    except Exception:
        t = None
    if r is None or t is None:
        return 1.0 if r is None and t is None else 0.0
    return 1.0 if abs((r - t).days) <= 31 else 0.0


def url_match(response: str, target: str) -> float:
    """Official: equal sets of URL hosts (``netloc``); raises on an invalid IPv6 host."""
    r = {urlparse(u).netloc for u in _OFFICIAL_URL.findall(response)}
    t = {urlparse(u).netloc for u in _OFFICIAL_URL.findall(target)}
    return 1.0 if r == t else 0.0


# --------------------------------------------------------------------------------------------
# strict mode

_INVISIBLE = dict.fromkeys(
    cp for cp in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD)
)  # zero-width characters and the soft hyphen


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    return "".join(ch for ch in text if not ch.isspace())


def strict_norm_str(content: Any) -> str:
    """Strict: NFKC, case-fold, remove all whitespace, zero-width characters and ``*``."""
    return _clean(str(content)).casefold().replace("*", "")


_SCALES: dict[str, float] = {
    "thousand": 1e3,
    "k": 1e3,
    "million": 1e6,
    "mn": 1e6,
    "m": 1e6,
    "billion": 1e9,
    "bn": 1e9,
    "b": 1e9,
    "trillion": 1e12,
    "tn": 1e12,
    "万": 1e4,
    "亿": 1e8,
}
_STRICT_NUMBER = re.compile(
    r"(?P<open>\()?\s*(?P<sign>[-+−–])?\s*[$€£¥]?\s*"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d*\.\d+|\d+\.?\d*)"
    r"(?P<exp>[eE][-+]?\d+)?"
    r"(?P<close>\))?"
    r"(?:\s*(?P<pct>%|percent\b)|(?P<scale>\s*(?:thousand|million|billion|trillion)\b"
    r"|\s?(?:mn|bn|tn)\b|(?-i:k|K|M|B)\b|\s*[万亿]))?",
    re.IGNORECASE,
)


def strict_extract_number(content: Any) -> float | None:
    """Strict: the first number of the text as a float (sign, %, scale words), or ``None``."""
    text = unicodedata.normalize("NFKC", str(content)).replace("\u2212", "-")
    match = _STRICT_NUMBER.search(text)
    if match is None:
        return None
    value = float(match.group("num").replace(",", "") + (match.group("exp") or ""))
    if match.group("sign") in ("-", "−", "–") or (match.group("open") and match.group("close")):
        value = -value
    if match.group("pct"):
        value /= 100.0
    scale = (match.group("scale") or "").strip().lower()
    if scale:
        value *= _SCALES[scale]
    return value


def _strict_number(value: Any) -> float | None:
    if value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return float(value)
    return strict_extract_number(value)


_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for name in names
}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))


@dataclass(frozen=True)
class StrictDate:
    """A parsed date; ``alternatives`` holds every reading of an ambiguous numeric date."""

    alternatives: tuple[date, ...]
    text: str

    def __str__(self) -> str:
        return self.alternatives[0].isoformat()


def _mkdate(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_CJK = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?")
_NUMERIC = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
_YEAR_MONTH = re.compile(r"(\d{4})[-/.](\d{1,2})(?![\d])")
_NAMED_MDY = re.compile(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I)
_NAMED_DMY = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH_RE})\.?,?\s+(\d{{4}})\b", re.I)
_NAMED_MY = re.compile(rf"\b({_MONTH_RE})\.?,?\s+(\d{{4}})\b", re.I)
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def _strict_dates(text: str) -> tuple[date, ...]:
    """Every reading of the first date in ``text`` (empty when there is none)."""
    if m := _ISO.search(text):
        found = _mkdate(int(m[1]), int(m[2]), int(m[3]))
        return (found,) if found else ()
    if m := _CJK.search(text):
        found = _mkdate(int(m[1]), int(m[2]), int(m[3] or 1))
        return (found,) if found else ()
    if m := _NAMED_MDY.search(text):
        found = _mkdate(int(m[3]), _MONTHS[m[1].lower()], int(m[2]))
        return (found,) if found else ()
    if m := _NAMED_DMY.search(text):
        found = _mkdate(int(m[3]), _MONTHS[m[2].lower()], int(m[1]))
        return (found,) if found else ()
    if m := _NUMERIC.search(text):
        a, b, y = int(m[1]), int(m[2]), int(m[3])
        readings = [d for d in (_mkdate(y, a, b), _mkdate(y, b, a)) if d is not None]
        return tuple(dict.fromkeys(readings))
    if m := _NAMED_MY.search(text):
        found = _mkdate(int(m[2]), _MONTHS[m[1].lower()], 1)
        return (found,) if found else ()
    if m := _YEAR_MONTH.search(text):
        found = _mkdate(int(m[1]), int(m[2]), 1)
        return (found,) if found else ()
    if m := _YEAR.search(text):
        return (date(int(m[1]), 1, 1),)
    return ()


def strict_norm_date(content: Any) -> Any:
    """Strict: a :class:`StrictDate` when the text holds a date, else the text unchanged."""
    if isinstance(content, StrictDate):
        return content
    text = unicodedata.normalize("NFKC", str(content))
    readings = _strict_dates(text)
    return StrictDate(readings, text) if readings else content


def _as_text(value: Any) -> str:
    if isinstance(value, StrictDate):
        return value.text
    return "" if value is None else str(value)


def strict_exact_match(response: Any, target: Any) -> float:
    """Strict: equality after NFKC and case-folding."""
    a = unicodedata.normalize("NFKC", _as_text(response)).casefold()
    b = unicodedata.normalize("NFKC", _as_text(target)).casefold()
    return 1.0 if a == b else 0.0


def strict_in_match(response: Any, target: Any) -> float:
    """Strict: the normalised response is a substring of the normalised target."""
    return 1.0 if strict_norm_str(_as_text(response)) in strict_norm_str(_as_text(target)) else 0.0


def strict_number_near(response: Any, target: Any, criterion: Any) -> float:
    """Strict: relative tolerance; a non-number matches only the same normalised text."""
    r = _strict_number(response)
    t = _strict_number(target)
    if r is None or t is None:
        if r is None and t is None:
            return (
                1.0
                if strict_norm_str(_as_text(response)) == strict_norm_str(_as_text(target))
                else 0.0
            )
        return 0.0
    if math.isnan(r) or math.isnan(t):
        return 0.0
    tolerance = float(criterion or 0.0)
    return 1.0 if abs(r - t) <= abs(t) * tolerance + 1e-12 * max(1.0, abs(t)) else 0.0


def strict_date_near(response: Any, target: Any) -> float:
    """Strict: any reading within 31 days; undated cells match only the same text."""
    r = strict_norm_date(response)
    t = strict_norm_date(target)
    if not isinstance(r, StrictDate) or not isinstance(t, StrictDate):
        if not isinstance(r, StrictDate) and not isinstance(t, StrictDate):
            return 1.0 if strict_norm_str(_as_text(r)) == strict_norm_str(_as_text(t)) else 0.0
        return 0.0
    near = any(abs((a - b).days) <= 31 for a in r.alternatives for b in t.alternatives)
    return 1.0 if near else 0.0


_STRICT_URL = re.compile(
    r"(?:https?://)?(?:[\w-]+\.)+[a-z][\w-]*(?::\d+)?(?:[/?#][^\s|,;]*)?", re.IGNORECASE
)


def _hosts(text: str) -> set[str]:
    hosts: set[str] = set()
    for found in _STRICT_URL.findall(text):
        url = found if "://" in found else "http://" + found
        try:
            host = urlparse(url).hostname or ""
        except ValueError:
            continue
        host = host.lower().rstrip(".")
        if host.startswith("www."):
            host = host[4:]
        if host:
            hosts.add(host)
    return hosts


def strict_url_match(response: Any, target: Any) -> float:
    """Strict: equal sets of hosts (no ``www.``, no port); no URL on both sides compares text."""
    r = _hosts(_as_text(response))
    t = _hosts(_as_text(target))
    if not r and not t:
        return (
            1.0 if strict_norm_str(_as_text(response)) == strict_norm_str(_as_text(target)) else 0.0
        )
    return 1.0 if r == t else 0.0


# --------------------------------------------------------------------------------------------
# registries

Preprocess = Callable[[Any], Any]
PairMetric = Callable[[Any, Any], float]

OFFICIAL_PREPROCESS: dict[str, Preprocess] = {
    "extract_number": extract_number,
    "norm_str": norm_str,
    "norm_date": norm_date,
}
STRICT_PREPROCESS: dict[str, Preprocess] = {
    "extract_number": strict_extract_number,
    "norm_str": strict_norm_str,
    "norm_date": strict_norm_date,
}
#: Metrics scored cell by cell. ``number_near`` also takes the criterion; ``llm_judge`` is
#: scored a column at a time through a :class:`evals.judge.Judge`.
OFFICIAL_METRICS: dict[str, Callable[..., float]] = {
    "exact_match": exact_match,
    "number_near": number_near,
    "date_near": date_near,
    "url_match": url_match,
    "in_match": in_match,
}
STRICT_METRICS: dict[str, Callable[..., float]] = {
    "exact_match": strict_exact_match,
    "number_near": strict_number_near,
    "date_near": strict_date_near,
    "url_match": strict_url_match,
    "in_match": strict_in_match,
}
#: Metrics whose function takes ``criterion`` as a third argument (as in the evaluator).
CRITERION_METRICS = frozenset({"number_near", "llm_judge"})
JUDGE_METRIC = "llm_judge"


def preprocessors(strict: bool) -> dict[str, Preprocess]:
    return STRICT_PREPROCESS if strict else OFFICIAL_PREPROCESS


def cell_metrics(strict: bool) -> dict[str, Callable[..., float]]:
    return STRICT_METRICS if strict else OFFICIAL_METRICS


def metric_score(name: str, response: Any, target: Any, criterion: Any, *, strict: bool) -> float:
    """Score one cell with the named (non-judge) metric."""
    func = cell_metrics(strict)[name]
    if name in CRITERION_METRICS:
        return func(response, target, criterion)
    return func(response, target)


def f1(precision: float, recall: float) -> float:
    """Harmonic mean; 0 when ``precision + recall`` is (nearly) 0, as in the evaluator."""
    return 2 * precision * recall / (precision + recall) if precision + recall > 1e-9 else 0.0
