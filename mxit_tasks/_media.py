"""Image detection by magic bytes, shared by the client, the tasks and the sandbox."""

from __future__ import annotations

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)

IMAGE_TYPES = frozenset(mime for _, mime in _SIGNATURES) | {"image/webp"}


def sniff_image(data: bytes) -> str | None:
    """Return the image MIME type that ``data`` starts with, or None when it is not an image."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, mime in _SIGNATURES:
        if data.startswith(magic):
            # "BM" is short: also require a plausible BMP header size.
            if mime == "image/bmp" and len(data) < 26:
                return None
            return mime
    return None


def tiny_png(rgb: tuple[int, int, int] = (0x33, 0x99, 0xCC)) -> bytes:
    """A valid 1x1 PNG of the given colour (the sandbox's default avatar and test fixtures)."""
    import struct
    import zlib

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"\x00" + bytes(rgb)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
