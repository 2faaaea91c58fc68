"""Real image and PDF files for upload tests, made with Pillow and reportlab."""

from __future__ import annotations

import io

from PIL import Image
from PIL.ExifTags import GPS, IFD, Base

GPS_SHANGHAI = {
    GPS.GPSLatitudeRef: "N",
    GPS.GPSLatitude: (31.0, 13.0, 48.0),
    GPS.GPSLongitudeRef: "E",
    GPS.GPSLongitude: (121.0, 28.0, 12.0),
}


def picture(width: int = 40, height: int = 30, seed: int = 0) -> Image.Image:
    """A colour gradient; ``seed`` shifts the colours so pictures differ."""
    img = Image.new("RGB", (width, height))
    img.putdata(
        [
            ((x * 6 + seed) % 256, (y * 8 + seed * 3) % 256, (x + y + seed * 7) % 256)
            for y in range(height)
            for x in range(width)
        ]
    )
    return img


def encode(img: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **options)
    return out.getvalue()


def png(width: int = 40, height: int = 30, seed: int = 0) -> bytes:
    return encode(picture(width, height, seed), "PNG")


def webp(width: int = 40, height: int = 30, seed: int = 0) -> bytes:
    return encode(picture(width, height, seed), "WEBP", quality=90)


def phone_jpeg(width: int = 60, height: int = 40, *, orientation: int = 1) -> bytes:
    """A JPEG as a phone writes it: EXIF with the camera, a GPS position and the orientation
    (6: the camera was turned, the picture is to be shown rotated 90° clockwise), and a
    comment."""
    exif = Image.Exif()
    exif[Base.Make] = "PhoneMaker"
    exif[Base.Model] = "Phone 12"
    exif[Base.Orientation] = orientation
    exif.get_ifd(IFD.GPSInfo).update(GPS_SHANGHAI)
    return encode(
        picture(width, height),
        "JPEG",
        exif=exif.tobytes(),
        comment=b"taken at Shelter SH-001",
        quality=90,
    )


def pdf(text: str = "fix report") -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    doc = canvas.Canvas(out)
    doc.drawString(72, 720, text)
    doc.showPage()
    doc.save()
    return out.getvalue()


PNG = png()
"""A small real PNG."""
