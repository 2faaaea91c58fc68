"""Where an image or PDF file ends, read from its container structure alone (pure, no I/O).

An upload is accepted only when its format accounts for every byte: a PNG ends with its
``IEND`` chunk, a JPEG with its ``EOI`` marker (NUL padding allowed), a WebP with the size its
RIFF header gives. Anything after that (a script appended to a picture, a second file) makes
the upload a polyglot, and it is refused. Each function answers the offset just past the end,
or ``None`` when the structure is broken or truncated; none of them raises.
"""

from __future__ import annotations

import re

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SOS = 0xDA
_EOI = 0xD9
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RST0-7 carry no length


def png_end(data: bytes) -> int | None:
    """Offset after the ``IEND`` chunk."""
    if not data.startswith(PNG_SIGNATURE):
        return None
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length  # length, type, data, CRC
        if length > 0x7FFFFFFF or end > len(data):
            return None
        if kind == b"IEND":
            return end
        pos = end
    return None


def webp_end(data: bytes) -> int | None:
    """Offset after the RIFF chunk of a WebP file (``RIFF`` size ``WEBP`` …, padded to even)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    size = int.from_bytes(data[4:8], "little")
    end = 8 + size + (size & 1)
    return end if size >= 4 and end <= len(data) else None


def jpeg_end(data: bytes) -> int | None:
    """Offset after the ``EOI`` marker that closes the image's last scan.

    Marker segments are skipped by their length (so the thumbnail inside an EXIF segment is
    never mistaken for the end); entropy-coded data after ``SOS`` runs to the next marker that
    is neither a stuffed ``FF 00`` nor a restart marker.
    """
    n = len(data)
    if n < 4 or data[0] != 0xFF or data[1] != 0xD8:
        return None
    pos = 2
    while pos < n:
        if data[pos] != 0xFF:
            return None
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            return None
        marker = data[pos]
        pos += 1
        if marker == _EOI:
            return pos
        if marker in _STANDALONE:
            continue
        if pos + 2 > n:
            return None
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2 or pos + length > n:
            return None
        pos += length
        if marker == _SOS:
            scanned = _scan_end(data, pos)
            if scanned is None:
                return None
            pos = scanned
    return None


def _scan_end(data: bytes, pos: int) -> int | None:
    """The offset of the first real marker after entropy-coded data starting at ``pos``."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            return None
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            pos += 2
            continue
        if following == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        return pos


_PDF_HEADER = re.compile(rb"%PDF-[12]\.\d")
_STARTXREF = re.compile(rb"startxref\s+(\d{1,12})\s+%%EOF\s*$")
_XREF_AT = re.compile(rb"\s*(xref|\d{1,10}\s+\d{1,5}\s+obj)")
PDF_TAIL = 1024


def pdf_is_whole(data: bytes) -> bool:
    """A PDF's minimal structure: the header at byte 0, and at the end (whitespace aside) a
    ``startxref`` whose offset points inside the file at a cross-reference table or stream,
    then ``%%EOF``. A truncated file, or one with anything appended after ``%%EOF``, fails."""
    if not _PDF_HEADER.match(data):
        return False
    match = _STARTXREF.search(data[-PDF_TAIL:])
    if match is None:
        return False
    offset = int(match.group(1))
    return 0 < offset < len(data) and _XREF_AT.match(data, offset) is not None
