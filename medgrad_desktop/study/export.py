"""A study's answers in the formats the field's tools read, so a statistician can run the standard
multi-reader multi-case (MRMC) analysis beside the app's own:

- `<id>-long.csv`: one row per reading (repeats included, flagged), the app's long format; its
  `ai_unlike_training` (1/0, every arm) says whether the case's AI answer carries the app's warning that
  the image is unlike the model's training images, so an analysis can stratify by it;
- `<id>.imrmc`: the input file of the FDA's iMRMC (header, then `BEGIN DATA:` and rows
  `reader,case,modality,score`; one truth row per case with reader -1 and modality 0, score 1 for a
  malignant lesion and 0 otherwise); cases are numbered (C-007 is case 7) as iMRMC and RJafroc want;
- `<id>-mrmcaov.csv`: the long table of R's MRMCaov (reader, test, case, truth, rating).

The MRMC files hold first readings only (a repeat would count a case twice) and rate each reading on one
ordinal scale, so that ROC analysis works on a diagnosis that is a class, not a score: a reading that
calls the lesion malignant rates 10 + confidence (11..20), one that calls it benign 11 - confidence
(1..10): the more confident a malignant call the higher, the more confident a benign call the lower.
A study that does not ask for confidence rates a malignant call 1 and a benign one 0.

Readers appear by their codes unless the study file sets `names_in_export = true`; cases always by
their pseudonyms.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from medgrad_desktop.atomic import publish, write_text_atomic
from medgrad_desktop.data.csv_table import safe_text
from medgrad_desktop.study.records import Response
from medgrad_desktop.study.spec import StudySpec

LONG_COLUMNS = (
    "reader",
    "case",
    "arm",
    "session",
    "position",
    "repeat",
    "truth",
    "answer",
    "correct",
    "ai_class",
    "ai_unlike_training",
    "confidence",
    "trust",
    "map_helped",
    "seconds",
)
MRMCAOV_COLUMNS = ("reader", "test", "case", "truth", "rating")


def reader_labels(spec: StudySpec) -> dict[str, str]:
    """Code -> what the exports call the reader: the code, or the name when the study allows names."""
    return {r.code: (r.name if spec.names_in_export and r.name else r.code) for r in spec.readers}


def rating(r: Response, spec: StudySpec) -> int:
    """The ordinal MRMC rating of one reading (see the module's docstring)."""
    positive = spec.questions.scoring().answer_positive(r.answer)
    if not spec.questions.confidence or r.confidence is None:
        return int(positive)
    return 10 + r.confidence if positive else 11 - r.confidence


def case_number(case_id: str) -> int:
    return int(case_id.rsplit("-", 1)[1])


def long_csv(responses: list[Response], spec: StudySpec) -> str:
    names = reader_labels(spec)
    scoring = spec.questions.scoring()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(LONG_COLUMNS)
    for r in responses:
        w.writerow(
            [
                safe_text(names.get(r.reader, r.reader)),
                r.case_id,
                r.arm,
                r.session,
                r.position,
                int(r.repeat),
                r.truth,
                r.answer,
                int(scoring.is_correct(r.answer, r.truth)),
                r.ai_class,
                int(r.ai_unlike_training),
                "" if r.confidence is None else r.confidence,
                "" if r.trust is None else r.trust,
                "" if r.map_helped is None else r.map_helped,
                f"{r.seconds:.3f}",
            ]
        )
    return buf.getvalue()


def _first_readings(responses: list[Response]) -> list[Response]:
    return [r for r in responses if not r.repeat]


def _truths(responses: list[Response], spec: StudySpec) -> dict[str, int]:
    scoring = spec.questions.scoring()
    return {
        r.case_id: int(scoring.truth_positive(r.truth)) for r in sorted(responses, key=lambda r: r.case_id)
    }


def imrmc_text(responses: list[Response], spec: StudySpec) -> str:
    first = _first_readings(responses)
    names = reader_labels(spec)
    truths = _truths(first, spec)
    # iMRMC reads any header line holding "N0:", "N1:", "NR:" or "NM:" (a name like "run1: pilot") as
    # that count, so the free text keeps no colon and no line break
    name = " ".join(spec.name.split()).replace(":", " -")
    lines = [
        f"Reader study {spec.id} ({name}), exported by MedGrad Desktop.",
        "Score: 10 + confidence for a malignant call, 11 - confidence for a benign call; "
        "truth 1 = malignant. Case k is the study's case C-k.",
        f"NR: {len({r.reader for r in first})}",
        f"N0: {sum(1 for t in truths.values() if t == 0)}",
        f"N1: {sum(1 for t in truths.values() if t == 1)}",
        f"NM: {len({r.arm for r in first})}",
        "",
        "BEGIN DATA:",
    ]
    lines += [f"-1,{case_number(c)},0,{t}" for c, t in truths.items()]
    lines += [
        f"{names.get(r.reader, r.reader).replace(',', ' ')},{case_number(r.case_id)},{r.arm},{rating(r, spec)}"
        for r in first
    ]
    return "\n".join(lines) + "\n"


def mrmcaov_csv(responses: list[Response], spec: StudySpec) -> str:
    first = _first_readings(responses)
    names = reader_labels(spec)
    truths = _truths(first, spec)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(MRMCAOV_COLUMNS)
    for r in first:
        w.writerow(
            [safe_text(names.get(r.reader, r.reader)), r.arm, r.case_id, truths[r.case_id], rating(r, spec)]
        )
    return buf.getvalue()


def export_files(
    responses: list[Response], spec: StudySpec, out_dir: Path, *, force: bool = False
) -> list[Path]:
    """Write the three files into `out_dir` (made if missing); an existing file is kept unless `force`
    (`FileExistsError` names it). Reader codes link to people only through the study's own records,
    yet the files are private to the user (0600) like every export that may carry names."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    texts = {
        out_dir / f"{spec.id}-long.csv": long_csv(responses, spec),
        out_dir / f"{spec.id}.imrmc": imrmc_text(responses, spec),
        out_dir / f"{spec.id}-mrmcaov.csv": mrmcaov_csv(responses, spec),
    }
    clash = [p.name for p in texts if p.exists()]
    if clash and not force:
        raise FileExistsError(f"{out_dir} already holds {', '.join(clash)}; pass --force to overwrite")
    staged: list[tuple[Path, Path]] = []
    try:
        for path, text in texts.items():
            staged.append((write_text_atomic(path.with_name(f".{path.name}.part"), text, private=True), path))
        return publish(staged, force=force)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
