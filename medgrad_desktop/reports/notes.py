"""Reviewers' notes in a de-identified report: left out unless asked for, and scrubbed when asked for.

A note is free text. A reviewer may type a date of birth, a telephone number, a hospital number or an
address into it, in any spelling, and no header rule sees those: DICOM PS3.15's basic profile removes
comment fields for this reason. So a de-identified report leaves every note out unless the user asks
for the notes (and says how many it left out); asked for, each note is scrubbed of:

- dates in any format, telephone numbers, e-mail and IP addresses, bank and card numbers: presidio-
  analyzer's pattern recognisers (its phone recogniser is libphonenumber's matcher), run without an NLP
  engine, so nothing is downloaded and nothing leaves the machine;
- what those patterns miss, with this module's own patterns in presidio's `PatternRecognizer`: dates
  written with month names ("1 March 2023", "May 20, 2023") or without separators ("20230520"),
  ID-like numbers (five digits or more, or four after a capital-letter prefix such as "MRN"), street
  addresses ("12 Elm Street") and UK postcodes;
- every identifying header value (`identifying`, from `data.patients.identifying_values`) in any
  spelling: case, spacing and punctuation are ignored ("MRN-4411-7788" = "mrn 4411 7788"), and a
  DICOM date is also found as "2023-05-20", "20/05/2023", "05/20/2023", "20 May 2023", "May 20th, 2023".

Each finding becomes "[removed]". A note can still identify a patient in words no pattern knows (a
relative's name, a rare occupation), which is why notes stay out by default.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

REMOVED = "[removed]"
SCRUBBED_KINDS = "dates, phone and ID numbers, addresses, e-mail and header values"
INCLUDE_NOTES_RISK = (
    "a note can still identify a patient in words no scrubber recognises: include notes only if you "
    "have read them"
)
LEFT_OUT_NOTE = "note left out of this de-identified report: it may contain identifiers"

_MONTH_NAMES = "January February March April May June July August September October November December"
# a month's short form is its first three letters, and "Sept" too for September
_MONTHS = tuple((m, m[:3] + ("t?" if m == "September" else "")) for m in _MONTH_NAMES.split())
_MONTH = "(?:" + "|".join(f"{full}|{short}\\.?" for full, short in _MONTHS) + ")"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR = r"(?:1[89]\d\d|2\d{3})"
_SEP = r"[\W_]*"  # any spacing and punctuation between the parts of a value
_STREET = (
    "Street|St|Road|Rd|Lane|Ln|Avenue|Ave|Drive|Dr|Way|Close|Cl|Court|Ct|Place|Pl|Crescent|Cres|"
    "Terrace|Boulevard|Blvd|View|Gardens|Grove|Square|Sq|Hill|Park|Row|Walk|Mews|Parade|Highway|Hwy"
)


def left_out_text(n: int) -> str:
    """What the dialog, the command line and the report's cover say about notes left out."""
    return f"{n} note{'s' if n != 1 else ''} left out: they may contain identifiers"


def notes_rule_text(deidentified: bool, include_notes: bool, left_out: int) -> str:
    """The report's cover line on notes."""
    if not deidentified:
        return "included as written (the report is not de-identified)"
    if include_notes:
        return "included, scrubbed of dates, phone/ID numbers, addresses, e-mail, header values"
    return left_out_text(left_out) if left_out else "left out of de-identified reports (none written here)"


def note_for_report(
    note: str, deidentified: bool, include_notes: bool, identifying: frozenset[str] = frozenset()
) -> tuple[str, bool]:
    """(the note as the report prints it, whether it was left out). A named report keeps the note as
    written; a de-identified one leaves it out unless `include_notes`, and then scrubs it."""
    if not deidentified:
        return note, False
    if not include_notes:
        return "", bool(note.strip())
    return scrub_note(note, identifying), False


def count_notes(records: Mapping, sha256s: Iterable[str]) -> int:
    """How many of these images (by hash) have a review record with a note; `records` maps a hash to
    a record with a `.note` (e.g. `ReviewStore.records`)."""
    return sum(1 for s in set(sha256s) if (r := records.get(s)) is not None and (r.note or "").strip())


def _own_patterns() -> list[tuple[str, str, int]]:
    """(name, regex, flags) for what presidio's predefined patterns do not cover."""
    nocase = re.IGNORECASE
    return [
        ("day month year", rf"\b{_DAY}{_SEP}(?:of{_SEP})?{_MONTH}{_SEP}{_YEAR}\b", nocase),
        ("month day year", rf"\b{_MONTH}{_SEP}{_DAY}{_SEP}{_YEAR}\b", nocase),
        ("month year", rf"\b{_MONTH}{_SEP}{_YEAR}\b", nocase),
        ("day month", rf"\b{_DAY}{_SEP}(?:of{_SEP})?{_MONTH}\b", nocase),
        # five digits or more, alone or in groups ("4471923", "555-0142", "943 476 5919"), or four
        # after a capital-letter prefix ("STUDY-0091"); a year alone ("2019") stays
        ("ID-like number", r"\b(?:[A-Z]{1,6}[-#:/]?\s?)?\d(?:[-./ ]?\d)+(?:[-/ ]?[A-Z]{1,3})?\b", 0),
        (
            "street address",
            rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Z][\w'’.-]*\s+){{0,3}}(?i:{_STREET})\b\.?"
            r"(?:,\s*[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*){0,2})?",
            0,
        ),
        ("UK postcode", r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", 0),
    ]


def _digits(text: str) -> int:
    return sum(c.isdigit() for c in text)


def _date_spellings(value: str) -> list[str]:
    """A DICOM date (YYYYMMDD) as people write it: every order of its parts, with or without leading
    zeros, two- or four-digit years, and the month as a number or a name."""
    m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", value)
    if not m or not (1 <= int(m[2]) <= 12 and 1 <= int(m[3]) <= 31):
        return []
    y, mo, d = m[1], int(m[2]), int(m[3])
    year = f"(?:{y}|{y[2:]})"
    day = f"0?{d}(?:st|nd|rd|th)?"
    month = f"(?:0?{mo}|{_MONTHS[mo - 1][0]}|{_MONTHS[mo - 1][1]}\\.?)"
    return [
        rf"\b{y}{_SEP}{month}{_SEP}{day}\b",
        rf"\b{day}{_SEP}(?:of{_SEP})?{month}{_SEP}{year}\b",
        rf"\b{month}{_SEP}{day}{_SEP}{year}\b",
    ]


def header_patterns(identifying: Iterable[str]) -> list[str]:
    """Regexes (for case-insensitive matching) that find each header value in any spelling."""
    out = []
    for value in sorted(set(identifying), key=len, reverse=True):
        parts = re.findall(r"[^\W_]+", value)
        if not parts:
            continue
        out.append(r"(?<![^\W_])" + _SEP.join(re.escape(p) for p in parts) + r"(?![^\W_])")
        out += _date_spellings(value)
    return out


@functools.cache
def _recognisers():
    """presidio-analyzer's pattern recognisers (no NLP engine) and this module's own, built once."""
    from presidio_analyzer import Pattern, PatternRecognizer
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        DateRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        PhoneRecognizer,
    )

    class _IdLike(PatternRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            prefixed = bool(re.match(r"[A-Z]", pattern_text))
            return _digits(pattern_text) >= (4 if prefixed else 5)

    own = []
    for name, regex, flags in _own_patterns():
        cls = _IdLike if name == "ID-like number" else PatternRecognizer
        own.append(
            cls(
                supported_entity=name.upper().replace(" ", "_").replace("-", "_"),
                patterns=[Pattern(name, regex, 0.5)],
                global_regex_flags=flags | re.MULTILINE,
            )
        )
    return [
        PhoneRecognizer(supported_regions=("US", "GB", "CA", "AU", "IE", "DE", "FR", "NL", "IT", "ES", "IN")),
        DateRecognizer(),
        # e-mail by presidio's pattern, without its domain check: that check may fetch a list online
        PatternRecognizer(supported_entity="EMAIL_ADDRESS", patterns=EmailRecognizer.PATTERNS),
        IpRecognizer(),
        IbanRecognizer(),
        CreditCardRecognizer(),
        *own,
    ]


def _header_recogniser(identifying: frozenset[str]):
    from presidio_analyzer import Pattern, PatternRecognizer

    patterns = [Pattern("header value", p, 1.0) for p in header_patterns(identifying)]
    return PatternRecognizer(supported_entity="HEADER_VALUE", patterns=patterns) if patterns else None


def _spans(text: str, identifying: frozenset[str]) -> list[tuple[int, int]]:
    recognisers = list(_recognisers())
    header = _header_recogniser(identifying)
    if header is not None:
        recognisers.append(header)
    spans = []
    for r in recognisers:
        spans += [(x.start, x.end) for x in r.analyze(text, r.supported_entities, None) or []]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def scrub_note(text: str, identifying: frozenset[str] | set[str] = frozenset()) -> str:
    """`text` with every date, phone number, ID-like number, address, e-mail and header value (in any
    spelling) replaced by "[removed]"."""
    if not text.strip():
        return text
    out, last = [], 0
    for start, end in _spans(text, frozenset(identifying)):
        out += [text[last:start], REMOVED]
        last = end
    return "".join([*out, text[last:]])
