"""Slow work off the UI thread: `ModelWorker` (the one thread that owns the model and runs jobs), the
job functions (`jobs`), the batch of predictions, thumbnail decoding, display images made in the
worker (`qimages`), and `compute`, the torch side the worker imports on first use.

Nothing here imports `widgets` or `dialogs` (an import-linter contract in pyproject.toml)."""
