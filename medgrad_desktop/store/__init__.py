"""The project store (SQLite): images by content, predictions, map metadata, reviews and audit events."""

from medgrad_desktop.store.legacy import import_legacy_reviews
from medgrad_desktop.store.project import (
    SCHEMA_VERSION,
    STORE_NAME,
    ProjectStore,
    StoreError,
    default_store_path,
)

__all__ = [
    "SCHEMA_VERSION",
    "STORE_NAME",
    "ProjectStore",
    "StoreError",
    "default_store_path",
    "import_legacy_reviews",
]
