"""Typed access to the app's QSettings, so every key has one name, one type and one default.

This is the app's only settings object: dialogs read and write through it, never through a QSettings
of their own. Tests and the self-test use `AppSettings.at(file)` (an .ini file in a temporary folder)
so they never touch the user's.

The settings name folders of patients' images, the last report folder and the reviewer, so their file
is private to the user (0600, in a 0700 folder of the app's own) from the moment it exists: it is made
before QSettings first writes, and QSettings keeps the mode of a file that exists. Windows keeps them in
the user's registry hive and macOS in the user's own preferences, both private to the account.
"""

from __future__ import annotations

import json
import sys
import typing
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from medgrad_desktop.appdata import own_folder
from medgrad_desktop.atomic import create_private_file, make_dir
from medgrad_desktop.core.method_params import OPENING_METHOD, MethodParams, default_params, params_from_dict
from medgrad_desktop.core.render import DEFAULT_OVERLAY_ALPHA

ORGANIZATION = "MedGrad"
APPLICATION = "MedGrad Desktop"
MAX_RECENT = 8


@dataclass(frozen=True)
class ExportChoices:
    """The export dialog's choices: which images (a scope name of the dialog), which maps and formats,
    offered again at the next export; and whether the report was de-identified, kept as a record only
    (de-identification is offered on at every export, never inherited)."""

    scope: str
    methods: tuple[str, ...]
    formats: tuple[str, ...]
    deidentify: bool


class _Typed:
    """An `AppSettings` attribute kept under one QSettings key: read back as `type_` (the default when it
    is missing or does not convert), then passed through `read`; written as `write(value)`, by default
    `type_(value)`, because QSettings hands back what an .ini file holds as strings."""

    def __init__(
        self,
        key: str,
        default: Any,
        type_: type,
        read: Callable[[Any], Any] | None = None,
        write: Callable[[Any], Any] | None = None,
    ):
        self.key, self.default, self.type_ = key, default, type_
        self.read = read or (lambda v: v)
        self.write = write or type_

    def __get__(self, settings: AppSettings | None, _owner: type | None = None) -> Any:
        if settings is None:
            return self
        return self.read(settings._get(self.key, self.default, self.type_))

    def __set__(self, settings: AppSettings, value: Any) -> None:
        settings._set(self.key, self.write(value))


class _Bytes:
    """An `AppSettings` attribute holding Qt's saved state (geometry, splitter): a QByteArray, or None
    when there is none or the stored value is something else."""

    def __init__(self, key: str):
        self.key = key

    def __get__(self, settings: AppSettings | None, _owner: type | None = None) -> Any:
        if settings is None:
            return self
        v = settings.q.value(self.key)
        return v if isinstance(v, QByteArray) else None

    def __set__(self, settings: AppSettings, value: QByteArray) -> None:
        settings._set(self.key, value)


class AppSettings:
    def __init__(self, qsettings: QSettings | None = None):
        own = qsettings is None  # the user's settings, in a folder of the app's own
        self.q = qsettings if qsettings is not None else QSettings(ORGANIZATION, APPLICATION)
        _make_private(self.q, own)

    @classmethod
    def at(cls, path: str | Path) -> AppSettings:
        """Settings kept in the .ini file `path` instead of the user's (tests, self-test, tools)."""
        return cls(QSettings(str(path), QSettings.Format.IniFormat))

    def _get(self, key: str, default, type_):
        value = self.q.value(key, default)
        if value is None:
            return default
        try:
            if type_ is bool:
                return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
            return type_(value)
        except (TypeError, ValueError):
            return default

    def _set(self, key: str, value) -> None:
        self.q.setValue(key, value)

    # window
    geometry = _Bytes("window/geometry")
    window_state = _Bytes("window/state")
    splitter_state = _Bytes("window/splitter")

    # folders
    last_folder = _Typed("folders/last", "", str)

    @property
    def recent_folders(self) -> list[str]:
        v = self.q.value("folders/recent", [])
        if isinstance(v, str):
            v = [v] if v else []
        return [str(x) for x in (v or [])][:MAX_RECENT]

    def add_recent_folder(self, folder: str) -> None:
        recent = [folder] + [f for f in self.recent_folders if f != folder]
        self._set("folders/recent", recent[:MAX_RECENT])

    export_dir = _Typed("export/last_dir", "", str)  # where the last report went; empty before the first

    @property
    def export_choices(self) -> ExportChoices | None:
        """What the last export was made with; None before the first, or when the stored value does
        not read back as one (the dialog then offers its defaults)."""
        raw = self.q.value("export/choices")
        if raw is None:
            return None
        try:
            d = json.loads(str(raw))
            choices = ExportChoices(
                str(d["scope"]), tuple(map(str, d["methods"])), tuple(map(str, d["formats"])), d["deidentify"]
            )
        except (TypeError, ValueError, KeyError):  # JSONDecodeError is a ValueError
            return None
        return choices if isinstance(choices.deidentify, bool) else None

    @export_choices.setter
    def export_choices(self, v: ExportChoices) -> None:
        self._set("export/choices", json.dumps(asdict(v), sort_keys=True))

    recursive = _Typed("folders/recursive", False, bool)
    # stamped on every review decision; asked once, changed in Preferences
    reviewer_name = _Typed("review/reviewer_name", "", str, read=str.strip, write=lambda v: str(v).strip())

    # overlay
    opacity = _Typed("overlay/opacity", 50, int, read=lambda v: max(0, min(100, v)))
    colormap = _Typed("overlay/colormap", "inferno", str)
    # how the overlay's opacity follows relevance: a name of `core.render.OVERLAY_ALPHAS`
    overlay_alpha = _Typed("overlay/alpha", DEFAULT_OVERLAY_ALPHA, str)
    method = _Typed("overlay/method", OPENING_METHOD, str)
    overlay_visible = _Typed("overlay/visible", True, bool)
    # measure and show each map's stability (`core.stability`): one extra batched pass per drawn map
    show_stability = _Typed("overlay/stability", True, bool)

    # method parameters
    def method_params(self, method: str) -> MethodParams:
        """The user's parameters of `method`, or its defaults.

        A stored value that no longer fits the dataclass (corrupt JSON, another method, a field that
        was renamed or removed, a value of the wrong type or outside its options) is dropped, so an
        update of the app or a damaged file can never stop it from starting or feed the engine junk.
        """
        key = f"params/{method}"
        raw = self.q.value(key)
        if raw is None:
            return default_params(method)
        try:
            d = json.loads(str(raw))
            params = params_from_dict(d)
            if params.method != method or not set(d) <= {"method", *params.field_names()}:
                raise ValueError("another method or unknown fields")
            hints = typing.get_type_hints(type(params))
            for f in fields(params):
                if not _fits(getattr(params, f.name), hints[f.name]):
                    raise ValueError(f"bad {f.name}")
        except (TypeError, ValueError, KeyError, AttributeError):  # JSONDecodeError is a ValueError
            self.q.remove(key)
            return default_params(method)
        return params

    def set_method_params(self, params: MethodParams) -> None:
        """Store `params` as the JSON of `to_dict()`; defaults are removed, so they follow the app's."""
        key = f"params/{params.method}"
        if params == default_params(params.method):
            self.q.remove(key)
        else:
            self._set(key, json.dumps(params.to_dict(), sort_keys=True))

    # model
    weights = _Typed("model/weights", "", str)  # empty: the bundled demo model
    device = _Typed("model/device", "auto", str)
    # confidence below which an image is flagged LOW and kept by the low-confidence filter
    low_confidence = _Typed("review/low_confidence", 0.5, float, read=lambda v: max(0.0, min(1.0, v)))
    # after accepting or overriding, move on to the next image not yet reviewed
    advance_after_review = _Typed("review/advance", True, bool)

    # side panels
    def panel_visible(self, name: str) -> bool:
        """Whether the side panel `name` ("browser" or "details") is shown; both are by default."""
        return self._get(f"window/show_{name}", True, bool)

    def set_panel_visible(self, name: str, visible: bool) -> None:
        self._set(f"window/show_{name}", bool(visible))

    def sync(self) -> None:
        self.q.sync()


def _make_private(q: QSettings, own_folder_: bool) -> None:
    """Create the settings file 0600 (and a missing folder 0700) before QSettings writes it; the app's
    own settings folder is tightened if others can read it. Not for the registry or a macOS plist."""
    native = q.format() == QSettings.Format.NativeFormat
    if native and sys.platform in ("win32", "darwin"):
        return
    path = Path(q.fileName())
    if own_folder_:
        own_folder(path.parent)
    else:
        make_dir(path.parent, private=True)
    create_private_file(path)


def _fits(value, hint) -> bool:
    """Whether a value read back from JSON fits a params field's type hint (bool is no int here)."""
    if typing.get_origin(hint) is typing.Literal:
        return value in typing.get_args(hint)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint) if isinstance(hint, type) else True
