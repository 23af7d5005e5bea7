"""Reading a GGUF file's metadata from its header, without loading the model.

The memory estimate needs the architecture's sizes and the token counter needs the
vocabulary; both read the same key-value section at the start of the file, here, once.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Collection
from pathlib import Path
from typing import Any, BinaryIO

# GGUF value types (gguf.GGUFValueType): struct formats of the fixed-width ones.
_SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
_STRING, _ARRAY = 8, 9


class GgufMetadataError(Exception):
    """The file is not GGUF or its header is damaged."""


def _read(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise GgufMetadataError("the GGUF header ends early (truncated file)")
    return data


def _raw_string(stream: BinaryIO) -> bytes:
    (length,) = struct.unpack("<Q", _read(stream, 8))
    return _read(stream, length)


def _value(stream: BinaryIO, kind: int, string_arrays: bool) -> Any:
    """One value; string arrays become lists of bytes, or only their length."""
    if kind in _SCALARS:
        fmt = "<" + _SCALARS[kind]
        return struct.unpack(fmt, _read(stream, struct.calcsize(fmt)))[0]
    if kind == _STRING:
        return _raw_string(stream).decode("utf-8", errors="replace")
    if kind == _ARRAY:
        item_kind, count = struct.unpack("<IQ", _read(stream, 12))
        if item_kind == _STRING:
            if string_arrays:
                return [_raw_string(stream) for _ in range(count)]
            for _ in range(count):  # vocabularies: 100k+ strings, skipped
                (length,) = struct.unpack("<Q", _read(stream, 8))
                stream.seek(length, os.SEEK_CUR)
            return count
        if item_kind in _SCALARS:
            fmt = "<" + _SCALARS[item_kind]
            size = struct.calcsize(fmt)
            return [struct.unpack(fmt, _read(stream, size))[0] for _ in range(count)]
        return [_value(stream, item_kind, string_arrays) for _ in range(count)]
    raise GgufMetadataError(f"unknown GGUF value type {kind}")


def read_gguf_metadata(path: Path, keys: Collection[str] | None = None) -> dict[str, Any]:
    """Metadata of a GGUF file.

    Without `keys`: every key, string arrays (the vocabulary) replaced by their length.
    With `keys`: only those, string arrays as lists of bytes, reading stops once all are found.
    """
    with path.open("rb") as stream:
        if _read(stream, 4) != b"GGUF":
            raise GgufMetadataError(f"{path} is not a GGUF file")
        version, _tensors, count = struct.unpack("<IQQ", _read(stream, 20))
        if version < 2:
            raise GgufMetadataError(f"GGUF version {version} is too old")
        metadata: dict[str, Any] = {}
        for _ in range(count):
            key = _raw_string(stream).decode("utf-8", errors="replace")
            (kind,) = struct.unpack("<I", _read(stream, 4))
            value = _value(stream, kind, string_arrays=keys is not None and key in keys)
            if keys is None or key in keys:
                metadata[key] = value
                if keys is not None and len(metadata) == len(keys):
                    break
        return metadata
