"""What can go wrong in a study, each with a message written for the person who has to act on it: the
study's author (a bad study file), the lead (a study created twice with different files) or the reader
(a washout not over yet, a study already finished)."""

from __future__ import annotations


class StudyError(Exception):
    """A study cannot go on as asked; `str()` says why and what to do."""


class StudySpecError(StudyError):
    """The study file is wrong; the message names the file and the key."""


class StudyConflict(StudyError):
    """A study of this id already exists in the store with another study file."""


class UnknownStudy(StudyError):
    """No study of this id in the store."""


class UnknownReader(StudyError):
    """The code (or name) is not one of the study's readers."""


class WashoutNotOver(StudyError):
    """The reader's next session opens later; the message says when."""


class StudyFinished(StudyError):
    """The reader has finished every session."""


class InvalidAnswer(StudyError):
    """An answer that does not fit the study's questions."""
