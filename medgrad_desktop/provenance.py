"""Provenance: everything needed to trace a number in a report back to the code, weights, settings,
machine and input files that produced it. Plain data (a JSON-able dict), no Qt, so the CLI, the app
and every report writer share one description.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import open_clip
import torch

from medgrad_desktop import __version__

SCHEMA = "medgrad-report-manifest/1"
_REPO_ROOT = Path(__file__).resolve().parent.parent


def git_commit(root: Path | None = None) -> str | None:
    """The source checkout's commit (with '-dirty' when files differ), or None when not a checkout.

    `MEDGRAD_GIT_COMMIT` wins so a frozen build can carry the commit it was built from.
    """
    env = os.environ.get("MEDGRAD_GIT_COMMIT")
    if env:
        return env
    root = root or _REPO_ROOT
    if getattr(sys, "frozen", False) or not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}-dirty" if dirty else commit or None


def device_info(device: Any) -> dict:
    """The compute device by name (a GPU's model, not just 'cuda'), plus the host's platform."""
    dev = str(device)
    info: dict[str, Any] = {
        "device": dev,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
    }
    if dev.startswith("cuda") and torch.cuda.is_available():
        idx = torch.device(dev).index or 0
        info["gpu"] = torch.cuda.get_device_name(idx)
        info["cuda"] = torch.version.cuda
    else:
        info["cpu_threads"] = torch.get_num_threads()
    info["open_clip"] = getattr(open_clip, "__version__", None)
    return info


def model_provenance(card: Any) -> dict:
    """What identifies the weights: name, SHA-256, architecture, catalogue, temperature, warnings."""
    cat = card.catalogue or {}
    return {
        "name": card.name,
        "weights_sha256": card.weights_sha256,
        "weights_format": card.weights_format,
        "architecture": card.architecture,
        "catalogue": {"name": cat.get("name"), "version": cat.get("version"), "digest": cat.get("digest")},
        "temperature": card.temperature,
        "input_size": card.input_size,
        "mean": list(card.mean),
        "std": list(card.std),
        "untrained": card.untrained,
        "demo": card.demo,
        "warnings": card.warnings(),
        "intended_use": card.intended_use,
        "extra": dict(card.extra),
    }


def collect(
    card: Any,
    device: Any,
    methods: list[dict],
    inputs: list[dict],
    *,
    settings: dict | None = None,
    now: datetime | None = None,
) -> dict:
    """The manifest. `methods` are the parameter dataclasses' `to_dict()`; `inputs` are dicts with at
    least `name` (a pseudonym when de-identified) and `sha256`."""
    now = now or datetime.now(UTC)
    return {
        "schema": SCHEMA,
        "app": {"name": "MedGrad Desktop", "version": __version__, "git_commit": git_commit()},
        "created": now.isoformat(timespec="seconds"),
        "notice": "Research use only, not for diagnosis.",
        "model": model_provenance(card),
        "methods": methods,
        "settings": dict(settings or {}),
        "environment": device_info(device),
        "inputs": inputs,
    }
