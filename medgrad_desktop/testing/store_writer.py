"""A process that writes review decisions (and predictions' image rows) into a project store in a loop:
the two-process and kill -9 tests run it as a separate interpreter, as a second app window would be.

    python -m medgrad_desktop.testing.store_writer STORE TAG COUNT

writes COUNT decisions for images named TAG-0..TAG-(COUNT-1) (COUNT 0: until killed), printing
"ready" once the store is open."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from medgrad_desktop.store import ProjectStore


def fake_sha(tag: str, i: int) -> str:
    return hashlib.sha256(f"{tag}-{i}".encode()).hexdigest()


def write_decisions(store_path: str, tag: str, count: int, shared_every: int = 0) -> None:
    """`shared_every` > 0: every that-many decisions also touch one image both processes review."""
    store = ProjectStore(Path(store_path))
    print("ready", flush=True)
    i = 0
    while count == 0 or i < count:
        sha = fake_sha(tag, i)
        store.record_image(sha, None, (640, 480))
        store.put_review(
            {
                "image_sha256": sha,
                "file_name": f"{tag}-{i}.jpg",
                "decision": "accepted",
                "final_class": "nevus",
                "predicted_class": "nevus",
                "note": f"by {tag}",
                "reviewer": tag,
            }
        )
        if shared_every and i % shared_every == 0:
            store.put_review(
                {
                    "image_sha256": fake_sha("shared", 0),
                    "decision": "overridden",
                    "final_class": "melanoma",
                    "note": f"{tag} {i}",
                    "reviewer": tag,
                }
            )
        i += 1
    store.close()


if __name__ == "__main__":
    write_decisions(sys.argv[1], sys.argv[2], int(sys.argv[3]))
