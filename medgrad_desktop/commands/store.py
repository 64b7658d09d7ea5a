"""`medgrad store`: look into the project store the app and the other commands share.

medgrad store info [--json]            where it is, its schema version, and how much it holds
medgrad store export-reviews --csv F   every review decision, with reviewer and time, as CSV
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

from medgrad_desktop.atomic import write_atomic
from medgrad_desktop.store import ProjectStore, StoreError
from medgrad_desktop.store.project import REVIEW_FIELDS


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", default=None, metavar="FILE", help="a store file other than the app's")
    actions = p.add_subparsers(dest="store_command", metavar="ACTION")
    info = actions.add_parser("info", help="path, schema version and counts")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(func=run_info)
    exp = actions.add_parser("export-reviews", help="all review decisions as CSV")
    exp.add_argument("--csv", required=True, metavar="FILE", help="the CSV file to write")
    exp.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    exp.set_defaults(func=run_export_reviews)
    p.set_defaults(func=lambda _a: (p.print_help(), 2)[1])


def _open(args: argparse.Namespace) -> ProjectStore | None:
    try:
        store = ProjectStore.shared(Path(args.store) if args.store else None)
    except (StoreError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    if store.notice:
        print(f"warning: {store.notice}", file=sys.stderr)
    return store


def run_info(args: argparse.Namespace) -> int:
    store = _open(args)
    if store is None:
        return 2
    info = store.info()
    if args.json:
        print(json.dumps(info))
    else:
        for k, v in info.items():
            print(f"{k}: {v}")
    return 0


def run_export_reviews(args: argparse.Namespace) -> int:
    from medgrad_desktop.data.csv_table import safe_text

    out = Path(args.csv)
    if out.exists() and not args.force:
        print(
            f"error: {out} already exists; pass --force to overwrite or choose another file", file=sys.stderr
        )
        return 3
    store = _open(args)
    if store is None:
        return 2
    rows = store.reviews()
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=[*REVIEW_FIELDS, "source_paths"], lineterminator="\n")
    w.writeheader()
    for r in rows:
        text = {
            k: safe_text(str(v)) if isinstance(v, str) else ("" if v is None else v) for k, v in r.items()
        }
        w.writerow({**text, "source_paths": safe_text(";".join(store.source_paths(r["image_sha256"])))})
    write_atomic(out, buf.getvalue().encode("utf-8"), private=True)  # notes, reviewers, file paths: 0600
    print(f"wrote {len(rows)} review decision(s) to {out}")
    return 0
