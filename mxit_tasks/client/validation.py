"""Input checks done before any HTTP call. Each failure names the parameter and the reason."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from mxit_tasks._media import sniff_image
from mxit_tasks.errors import InvalidRecipientsInput, MxitValidationError

RELATIONSHIP_STATUSES = range(0, 10)
GENDERS = range(0, 2)


def recipient_problem(value: Any) -> str | None:
    """Why ``value`` can never be a recipient id, or None when it can."""
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    if not value.strip():
        return "is empty"
    if "," in value:
        return "contains a comma (ids are joined with commas on the wire)"
    if len(value) > 64:
        return "is longer than 64 characters"
    return None


def partition_recipients(ids: Iterable[Any]) -> tuple[list[str], list[tuple[str, str]], int]:
    """Split ids into (valid, de-duplicated, in order), (invalid id, reason) and duplicates."""
    valid: list[str] = []
    invalid: list[tuple[str, str]] = []
    seen: set[str] = set()
    duplicates = 0
    for value in ids:
        problem = recipient_problem(value)
        if problem:
            invalid.append((repr(value) if not isinstance(value, str) else value, problem))
            continue
        value = value.strip()
        if value in seen:
            duplicates += 1
            continue
        seen.add(value)
        valid.append(value)
    return valid, invalid, duplicates


def recipients(name: str, ids: Any) -> tuple[list[str], int]:
    """Validated, de-duplicated recipient ids and how many duplicates were dropped."""
    if isinstance(ids, str):
        ids = [ids]
    if not isinstance(ids, Iterable) or isinstance(ids, bytes | dict):
        raise MxitValidationError(name, "must be a list of UserIds")
    valid, invalid, duplicates = partition_recipients(ids)
    if invalid:
        shown = "; ".join(f"{v!r} {why}" for v, why in invalid[:5])
        more = f" (and {len(invalid) - 5} more)" if len(invalid) > 5 else ""
        raise InvalidRecipientsInput(name, f"{shown}{more}", [v for v, _ in invalid])
    if not valid:
        raise MxitValidationError(name, "needs at least one recipient")
    return valid, duplicates


def identifier(name: str, value: Any) -> str:
    """A non-empty string id (Mxit ID, UserId, FileId, contact)."""
    if not isinstance(value, str) or not value.strip():
        raise MxitValidationError(name, "must be a non-empty string")
    return value


def folder_name(name: str, value: Any) -> str:
    """A gallery folder name: non-empty, no ``/``."""
    identifier(name, value)
    if "/" in value or "\\" in value:
        raise MxitValidationError(name, "may not contain '/' or '\\'")
    if value in (".", ".."):
        raise MxitValidationError(name, "may not be '.' or '..'")
    return value


def message_body(name: str, value: Any, max_chars: int) -> str:
    """A message body within the character limit."""
    if not isinstance(value, str):
        raise MxitValidationError(name, f"must be a string, not {type(value).__name__}")
    if max_chars and len(value) > max_chars:
        raise MxitValidationError(name, f"has {len(value)} characters; at most {max_chars}")
    return value


def boolean(name: str, value: Any) -> bool:
    """A real bool (``"false"`` is truthy in Python, so strings are refused)."""
    if not isinstance(value, bool):
        raise MxitValidationError(name, f"must be True or False, not {value!r}")
    return value


def optional_bool(name: str, value: Any) -> bool | None:
    """None or a real bool."""
    return None if value is None else boolean(name, value)


def non_negative_int(name: str, value: Any) -> int:
    """An int >= 0 (bool refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MxitValidationError(name, f"must be a non-negative integer, not {value!r}")
    return value


def enum(name: str, value: Any, allowed: range) -> int:
    """An int within ``allowed``."""
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        raise MxitValidationError(
            name, f"must be an integer {allowed.start}..{allowed.stop - 1}, not {value!r}"
        )
    return value


def payload(
    data: bytes | None,
    input_file_path: str | None,
    *,
    max_bytes: int,
    image: bool,
) -> tuple[bytes, str | None]:
    """The bytes to upload (from ``data`` or a file) and, for images, their sniffed type."""
    if data is not None and input_file_path is not None:
        raise MxitValidationError("data", "give data or input_file_path, not both")
    if input_file_path is not None:
        if not isinstance(input_file_path, str | os.PathLike):
            raise MxitValidationError("input_file_path", "must be a path")
        try:
            size = os.path.getsize(input_file_path)
        except OSError as exc:
            raise MxitValidationError(
                "input_file_path", f"cannot read it: {exc.strerror}"
            ) from None
        if max_bytes and size > max_bytes:
            raise MxitValidationError("input_file_path", f"is {size} bytes; at most {max_bytes}")
        with open(input_file_path, "rb") as fh:
            data = fh.read()
        field = "input_file_path"
    else:
        field = "data"
    if data is None or len(data) == 0:
        raise MxitValidationError(
            field, "give the file's bytes in data or a path in input_file_path"
        )
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MxitValidationError(field, f"must be bytes, not {type(data).__name__}")
    data = bytes(data)
    if max_bytes and len(data) > max_bytes:
        raise MxitValidationError(field, f"is {len(data)} bytes; at most {max_bytes}")
    mime = sniff_image(data)
    if image and mime is None:
        raise MxitValidationError(field, "is not an image (PNG, JPEG, GIF, BMP or WebP)")
    return data, mime
