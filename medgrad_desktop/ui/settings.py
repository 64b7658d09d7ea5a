"""Typed access to the app's QSettings, so every key has one name, one type and one default.

Tests pass their own QSettings (an .ini file in a temporary folder) so they never touch the user's.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "MedGrad"
APPLICATION = "MedGrad Desktop"
MAX_RECENT = 8


class AppSettings:
    def __init__(self, qsettings: QSettings | None = None):
        self.q = qsettings if qsettings is not None else QSettings(ORGANIZATION, APPLICATION)

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
    @property
    def geometry(self) -> QByteArray | None:
        v = self.q.value("window/geometry")
        return v if isinstance(v, QByteArray) else None

    @geometry.setter
    def geometry(self, v: QByteArray) -> None:
        self._set("window/geometry", v)

    @property
    def window_state(self) -> QByteArray | None:
        v = self.q.value("window/state")
        return v if isinstance(v, QByteArray) else None

    @window_state.setter
    def window_state(self, v: QByteArray) -> None:
        self._set("window/state", v)

    @property
    def splitter_state(self) -> QByteArray | None:
        v = self.q.value("window/splitter")
        return v if isinstance(v, QByteArray) else None

    @splitter_state.setter
    def splitter_state(self, v: QByteArray) -> None:
        self._set("window/splitter", v)

    # folders
    @property
    def last_folder(self) -> str:
        return self._get("folders/last", "", str)

    @last_folder.setter
    def last_folder(self, v: str) -> None:
        self._set("folders/last", v)

    @property
    def recent_folders(self) -> list[str]:
        v = self.q.value("folders/recent", [])
        if isinstance(v, str):
            v = [v] if v else []
        return [str(x) for x in (v or [])][:MAX_RECENT]

    def add_recent_folder(self, folder: str) -> None:
        recent = [folder] + [f for f in self.recent_folders if f != folder]
        self._set("folders/recent", recent[:MAX_RECENT])

    @property
    def recursive(self) -> bool:
        return self._get("folders/recursive", False, bool)

    @recursive.setter
    def recursive(self, v: bool) -> None:
        self._set("folders/recursive", bool(v))

    # overlay
    @property
    def opacity(self) -> int:
        return max(0, min(100, self._get("overlay/opacity", 50, int)))

    @opacity.setter
    def opacity(self, v: int) -> None:
        self._set("overlay/opacity", int(v))

    @property
    def colormap(self) -> str:
        return self._get("overlay/colormap", "inferno", str)

    @colormap.setter
    def colormap(self, v: str) -> None:
        self._set("overlay/colormap", v)

    @property
    def method(self) -> str:
        return self._get("overlay/method", "medgrad", str)

    @method.setter
    def method(self, v: str) -> None:
        self._set("overlay/method", v)

    @property
    def overlay_visible(self) -> bool:
        return self._get("overlay/visible", True, bool)

    @overlay_visible.setter
    def overlay_visible(self, v: bool) -> None:
        self._set("overlay/visible", bool(v))

    # model
    @property
    def weights(self) -> str:
        """Empty: the bundled demo model."""
        return self._get("model/weights", "", str)

    @weights.setter
    def weights(self, v: str) -> None:
        self._set("model/weights", v)

    @property
    def device(self) -> str:
        return self._get("model/device", "auto", str)

    @device.setter
    def device(self, v: str) -> None:
        self._set("model/device", v)

    @property
    def low_confidence(self) -> float:
        return self._get("review/low_confidence", 0.5, float)

    def sync(self) -> None:
        self.q.sync()
