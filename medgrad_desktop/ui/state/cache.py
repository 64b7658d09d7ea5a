"""Results kept per (image hash, model hash, method, parameters, target) so that revisiting an image
or switching back to a method shows the map at once, without a job."""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from medgrad_desktop.core.method_params import MethodParams


def params_key(params: MethodParams) -> str:
    return json.dumps(params.to_dict(), sort_keys=True)


def map_key(image_sha256: str, model_sha256: str, params: MethodParams, target_key: str) -> tuple:
    return (image_sha256, model_sha256, params.method, params_key(params), target_key)


class LRUCache:
    """A small least-recently-used dict; the UI thread owns it (workers only return values)."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._data: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key: Any) -> Any:
        if key not in self._data:
            return None
        self._data.move_to_end(key)
        return self._data[key]

    def put(self, key: Any, value: Any) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    def __contains__(self, key: Any) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        self._data.clear()
