"""Accepting an uploaded photo or PDF: what is kept is what was checked, and nothing more.

Images (JPEG, PNG, WebP) are decoded in full with Pillow, after their container was found to
end where the file ends (``inspection.containers``): a picture with a script appended, or a
RIFF file that is not WebP, is refused. The pixel count is bounded before any pixel is decoded
(decompression bombs); animated images are refused. The image is turned upright by its EXIF
orientation, then re-encoded in its own format without EXIF (GPS position, camera, times),
XMP or comments; only the colour profile stays. A JPEG thumbnail of at most
:data:`THUMBNAIL_PX` on each side is made at the same time.

PDFs (evidence of a fix) are checked structurally (``containers.pdf_is_whole``) and kept as
sent: a full PDF parser is not run on untrusted input in the request path.

Refusals are :class:`~inspection.errors.InvalidInput` with these codes:
``unsupported_file`` (type not accepted, or content not of the declared type or not
decodable), ``empty_file``, ``trailing_data`` (bytes after the image or PDF ends),
``image_too_large`` (more pixels than allowed).
"""

from __future__ import annotations

import io
import struct
import unicodedata
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from inspection import containers
from inspection.errors import InvalidInput

PDF = "application/pdf"
IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
ACCEPTED_TYPES = (*IMAGE_FORMATS, PDF)
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}
_ENDS: dict[str, Callable[[bytes], int | None]] = {
    "JPEG": containers.jpeg_end,
    "PNG": containers.png_end,
    "WEBP": containers.webp_end,
}
_MAGIC = {
    "image/jpeg": b"\xff\xd8\xff",
    "image/png": containers.PNG_SIGNATURE,
    "image/webp": b"RIFF",
    PDF: b"%PDF-",
}
THUMBNAIL_PX = 320
JPEG_QUALITY = 90
THUMBNAIL_QUALITY = 80
DISPLAY_NAME_MAX = 120
_DECODE_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    zlib.error,
)


@dataclass(frozen=True, slots=True)
class Accepted:
    """What is stored of an upload: the re-encoded image (or the PDF as sent) and, for an
    image, its upright size and a JPEG thumbnail."""

    content_type: str
    data: bytes
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = None


def media_type(declared: str) -> str:
    """The declared ``Content-Type`` without parameters, lower case, common aliases resolved."""
    kind = declared.split(";", maxsplit=1)[0].strip().lower()
    return _ALIASES.get(kind, kind)


def accept(data: bytes, declared: str, *, name: str, max_pixels: int) -> Accepted:
    """Check an upload of declared type ``declared`` and give what is to be stored. ``name``
    (the display name) only labels the error messages."""
    kind = media_type(declared)
    if kind not in ACCEPTED_TYPES:
        raise InvalidInput(
            f"{name}: type {kind or 'unknown'} not accepted; use " + ", ".join(ACCEPTED_TYPES),
            code="unsupported_file",
        )
    if not data:
        raise InvalidInput(f"{name}: empty file", code="empty_file")
    if not data.startswith(_MAGIC[kind]):
        raise InvalidInput(f"{name}: content is not a {kind} file", code="unsupported_file")
    if kind == PDF:
        return _accept_pdf(data, name)
    return _accept_image(data, kind, name=name, max_pixels=max_pixels)


def _accept_pdf(data: bytes, name: str) -> Accepted:
    if not containers.pdf_is_whole(data):
        raise InvalidInput(
            f"{name}: not a complete PDF (header, cross-reference and %%EOF at the end)",
            code="unsupported_file",
        )
    return Accepted(PDF, data)


def _check_end(data: bytes, fmt: str, kind: str, name: str) -> None:
    end = _ENDS[fmt](data)
    if end is None:
        raise InvalidInput(
            f"{name}: content is not a complete {kind} file", code="unsupported_file"
        )
    rest = data[end:]
    if rest and not (fmt == "JPEG" and rest.count(0) == len(rest)):
        raise InvalidInput(
            f"{name}: {len(rest)} bytes follow the end of the image", code="trailing_data"
        )


def _accept_image(data: bytes, kind: str, *, name: str, max_pixels: int) -> Accepted:
    fmt = IMAGE_FORMATS[kind]
    _check_end(data, fmt, kind, name)
    too_large = InvalidInput(
        f"{name}: more than {max_pixels} pixels", code="image_too_large", details=max_pixels
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise too_large
                if getattr(img, "n_frames", 1) > 1:
                    raise InvalidInput(
                        f"{name}: animated images are not accepted", code="unsupported_file"
                    )
                img.load()
                return _reencode(img, fmt)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise too_large from exc
    except _DECODE_ERRORS as exc:
        raise InvalidInput(
            f"{name}: the {kind} image could not be decoded", code="unsupported_file"
        ) from exc


def _reencode(img: Image.Image, fmt: str) -> Accepted:
    """Upright, without metadata, in its own format; plus the thumbnail."""
    icc = img.info.get("icc_profile")
    transparency = img.info.get("transparency")
    upright = ImageOps.exif_transpose(img)  # a new image: the decoded file stays untouched
    upright.info = {}
    options: dict[str, object] = {}
    if icc:
        options["icc_profile"] = icc
    if fmt == "JPEG":
        if upright.mode not in ("RGB", "L"):
            upright = upright.convert("RGB")
        options["quality"] = JPEG_QUALITY
    elif fmt == "WEBP":
        if upright.mode not in ("RGB", "RGBA"):
            has_alpha = "A" in upright.mode or transparency is not None
            upright = upright.convert("RGBA" if has_alpha else "RGB")
        options["quality"] = JPEG_QUALITY
    elif transparency is not None:
        options["transparency"] = transparency
    out = io.BytesIO()
    upright.save(out, fmt, **options)
    return Accepted(
        content_type=next(k for k, v in IMAGE_FORMATS.items() if v == fmt),
        data=out.getvalue(),
        width=upright.width,
        height=upright.height,
        thumbnail=thumbnail(upright),
    )


def thumbnail(img: Image.Image) -> bytes:
    """A JPEG of at most :data:`THUMBNAIL_PX` on each side; transparency shows as white."""
    small = img.copy()
    small.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    if small.mode in ("RGBA", "LA", "P", "PA") or "transparency" in small.info:
        rgba = small.convert("RGBA")
        small = Image.new("RGB", rgba.size, (255, 255, 255))
        small.paste(rgba, mask=rgba.getchannel("A"))
    elif small.mode not in ("RGB", "L"):
        small = small.convert("RGB")
    out = io.BytesIO()
    small.save(out, "JPEG", quality=THUMBNAIL_QUALITY)
    return out.getvalue()


def display_name(raw: str | None, *, fallback: str = "upload") -> str:
    """The client's file name made safe to show: only its last path segment, without control
    or formatting characters (bidirectional overrides included), leading dots or surrounding
    space, at most :data:`DISPLAY_NAME_MAX` characters (the extension kept). It is never used
    to name anything stored."""
    text = unicodedata.normalize("NFC", raw or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp"))
    text = text.strip().lstrip(".").strip()
    if len(text) > DISPLAY_NAME_MAX:
        stem, dot, ext = text.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            text = stem[: DISPLAY_NAME_MAX - len(ext) - 1] + "." + ext
        else:
            text = text[:DISPLAY_NAME_MAX]
    return text or fallback
