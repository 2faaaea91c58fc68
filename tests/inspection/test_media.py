"""Accepting uploaded files (``inspection.media``, ``inspection.containers``): what is refused
and why, what is stripped, and the display name of a file."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image
from pypdf import PdfReader

from inspection import containers, media
from inspection.errors import InvalidInput
from tests.images import PNG, encode, pdf, phone_jpeg, picture, png, webp

SCRIPT = b"<script>fetch('/api/v1/users').then(r => r.text()).then(alert)</script>"
MAX_PIXELS = 40_000_000


def _refusal(data: bytes, declared: str, *, max_pixels: int = MAX_PIXELS) -> str:
    with pytest.raises(InvalidInput) as caught:
        media.accept(data, declared, name="x", max_pixels=max_pixels)
    return caught.value.code


def _riff(kind: bytes, body: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + kind + body


def _png_claiming(width: int, height: int) -> bytes:
    """A valid PNG header for a huge picture with one compressed row: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        containers.PNG_SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * (width + 1)))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("data", "declared", "code"),
    [
        pytest.param(PNG + SCRIPT, "image/png", "trailing_data", id="png-with-script"),
        pytest.param(phone_jpeg() + SCRIPT, "image/jpeg", "trailing_data", id="jpeg-with-script"),
        pytest.param(webp() + b"\x00" * 8 + SCRIPT, "image/webp", "trailing_data", id="webp-tail"),
        pytest.param(
            _riff(b"WAVE", b"fmt " + b"\x00" * 20), "image/webp", "unsupported_file", id="riff-wav"
        ),
        pytest.param(
            _riff(b"WEBP", b"VP8 " + b"\x00" * 20), "image/webp", "unsupported_file", id="riff-junk"
        ),
        pytest.param(PNG[: len(PNG) // 2], "image/png", "unsupported_file", id="truncated-png"),
        pytest.param(
            PNG[:-12] + b"\x00" * 12, "image/png", "unsupported_file", id="png-without-iend"
        ),
        pytest.param(phone_jpeg()[:-40], "image/jpeg", "unsupported_file", id="truncated-jpeg"),
        pytest.param(PNG, "image/jpeg", "unsupported_file", id="png-declared-jpeg"),
        pytest.param(b"just some text", "image/png", "unsupported_file", id="text-as-png"),
        pytest.param(PNG, "text/html", "unsupported_file", id="html-type"),
        pytest.param(b"", "image/png", "empty_file", id="empty"),
        pytest.param(pdf() + SCRIPT, "application/pdf", "unsupported_file", id="pdf-with-script"),
        pytest.param(pdf()[:-200], "application/pdf", "unsupported_file", id="truncated-pdf"),
        pytest.param(b"%PDF-1.4\n%%EOF\n", "application/pdf", "unsupported_file", id="pdf-shell"),
    ],
)
def test_refused(data: bytes, declared: str, code: str) -> None:
    assert _refusal(data, declared) == code


def test_pixels_are_bounded_before_decoding() -> None:
    assert _refusal(png(200, 100), "image/png", max_pixels=19_999) == "image_too_large"
    assert media.accept(png(200, 100), "image/png", name="x", max_pixels=20_000).width == 200
    # Past Pillow's own bomb threshold the header alone is enough to refuse.
    assert _refusal(_png_claiming(20_000, 20_000), "image/png") == "image_too_large"


def test_animated_images_are_refused() -> None:
    frames = [picture(seed=s) for s in range(3)]
    data = encode(frames[0], "PNG", save_all=True, append_images=frames[1:])
    assert _refusal(data, "image/png") == "unsupported_file"


def test_metadata_is_stripped_and_the_photo_turned_upright() -> None:
    original = phone_jpeg(60, 40, orientation=6)
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif().get_ifd(0x8825)  # GPS is there to begin with
        assert "comment" in before.info
    accepted = media.accept(original, "image/jpeg", name="x", max_pixels=MAX_PIXELS)
    assert accepted.content_type == "image/jpeg"
    assert (accepted.width, accepted.height) == (40, 60)  # rotated as the EXIF said
    with Image.open(io.BytesIO(accepted.data)) as after:
        assert after.size == (40, 60)
        assert len(after.getexif()) == 0
        assert not {"exif", "comment", "xmp"} & after.info.keys()
    assert b"PhoneMaker" not in accepted.data
    assert b"SH-001" not in accepted.data


@pytest.mark.parametrize(
    ("data", "declared", "fmt"),
    [
        pytest.param(PNG, "image/png", "PNG", id="png"),
        pytest.param(webp(), "image/webp", "WEBP", id="webp"),
        pytest.param(phone_jpeg(), "image/jpg", "JPEG", id="jpeg-alias"),
    ],
)
def test_images_keep_their_format(data: bytes, declared: str, fmt: str) -> None:
    accepted = media.accept(data, declared, name="x", max_pixels=MAX_PIXELS)
    with Image.open(io.BytesIO(accepted.data)) as img:
        assert img.format == fmt
    assert accepted.thumbnail is not None
    with Image.open(io.BytesIO(accepted.thumbnail)) as thumb:
        assert thumb.format == "JPEG"


def test_thumbnail_is_at_most_320_px() -> None:
    accepted = media.accept(png(1000, 500), "image/png", name="x", max_pixels=MAX_PIXELS)
    assert accepted.thumbnail is not None
    with Image.open(io.BytesIO(accepted.thumbnail)) as thumb:
        assert thumb.size == (320, 160)


def test_a_transparent_png_keeps_its_alpha() -> None:
    img = picture().convert("RGBA")
    img.putpixel((0, 0), (0, 0, 0, 0))
    accepted = media.accept(encode(img, "PNG"), "image/png", name="x", max_pixels=MAX_PIXELS)
    with Image.open(io.BytesIO(accepted.data)) as after:
        assert after.mode == "RGBA"
        assert after.getpixel((0, 0)) == (0, 0, 0, 0)


def test_a_whole_pdf_is_kept_as_sent() -> None:
    data = pdf("整改完成")
    accepted = media.accept(data, "application/pdf", name="x", max_pixels=MAX_PIXELS)
    assert (accepted.content_type, accepted.data, accepted.thumbnail) == (
        "application/pdf",
        data,
        None,
    )
    assert (
        len(PdfReader(io.BytesIO(accepted.data)).pages) == 1
    )  # what the check passes, a reader reads


def test_jpeg_end_skips_the_thumbnail_inside_exif() -> None:
    thumb = encode(picture(8, 8), "JPEG")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    data = encode(picture(), "JPEG", exif=exif.tobytes() + thumb)
    assert containers.jpeg_end(data) == len(data)
    assert containers.jpeg_end(data + b"\x00\x00") == len(data)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("../../../../etc/passwd.png", "passwd.png"),
        ("..\\..\\windows\\system32\\a.jpg", "a.jpg"),
        ("/absolute/path/b.webp", "b.webp"),
        ("photo\x00.png", "photo.png"),
        ("evil\u202egnp.exe", "evilgnp.exe"),  # a right-to-left override hides the real type
        ("line\r\nbreak.png", "linebreak.png"),
        ("  .hidden.png ", "hidden.png"),
        ("..", "upload"),
        ("", "upload"),
        (None, "upload"),
        ("整改照片.jpg", "整改照片.jpg"),
        ("x" * 300 + ".jpeg", "x" * 115 + ".jpeg"),
    ],
)
def test_display_name(raw: str | None, shown: str) -> None:
    assert media.display_name(raw) == shown
