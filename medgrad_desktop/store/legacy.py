"""The review files of earlier versions (one JSON per opened folder under `reviews/` in the data folder)
imported into the project store once. Each file is recorded with its content hash, so it is never
imported twice, and a decision already in the store that is newer than the file's is kept. The JSON
files are left where they are."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from medgrad_desktop.store.project import ProjectStore, now

DECISIONS = ("pending", "accepted", "overridden")


def import_legacy_reviews(store: ProjectStore, folder: Path) -> int:
    """Import every `*.json` review file in `folder` not imported yet; returns how many decisions came in."""
    if not folder.is_dir():
        return 0
    imported = 0
    for path in sorted(folder.glob("*.json")):
        if path.name.endswith(".corrupt.json"):
            continue
        try:
            raw = path.read_bytes()
            data = json.loads(raw.decode("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue  # left for a person to look at; the app never relied on a damaged file
        digest = hashlib.sha256(raw).hexdigest()
        done = store._query("SELECT content_sha256 FROM legacy_imports WHERE file = ?", (str(path),))
        if done and done[0][0] == digest:
            continue
        records = (
            [
                r
                for r in data.get("records", [])
                if isinstance(r, dict) and r.get("image_sha256") and r.get("decision") in DECISIONS
            ]
            if isinstance(data, dict)
            else []
        )
        with store.transaction() as c:
            for r in records:
                existing = c.execute(
                    "SELECT updated FROM reviews WHERE image_sha256 = ?", (r["image_sha256"],)
                ).fetchone()
                if existing is not None and existing[0] >= (r.get("updated") or ""):
                    continue
                c.execute(
                    "INSERT OR IGNORE INTO images(sha256, first_seen) VALUES (?, ?)",
                    (r["image_sha256"], now()),
                )
                c.execute(
                    "INSERT OR REPLACE INTO reviews(image_sha256, file_name, decision, final_class, "
                    "predicted_class, note, updated, reviewer) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        r["image_sha256"],
                        r.get("file_name") or "",
                        r["decision"],
                        r.get("final_class"),
                        r.get("predicted_class"),
                        r.get("note") or "",
                        r.get("updated") or now(),
                        r.get("reviewer") or "",
                    ),
                )
                imported += 1
            c.execute(
                "INSERT OR REPLACE INTO legacy_imports VALUES (?, ?, ?, ?)",
                (str(path), digest, len(records), now()),
            )
            store._audit(
                c,
                "reviews_imported",
                None,
                None,
                {
                    "file": path.name,
                    "records": len(records),
                    "folder": data.get("folder") if isinstance(data, dict) else None,
                },
            )
    return imported
