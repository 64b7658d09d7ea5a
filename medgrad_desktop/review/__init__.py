"""Review decisions (accept / override / note), stored without Qt so reports can read them."""

from medgrad_desktop.review.store import ReviewRecord, ReviewStore

__all__ = ["ReviewRecord", "ReviewStore"]
