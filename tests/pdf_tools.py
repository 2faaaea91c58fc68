"""Reading a PDF as a person's computer does, with poppler-utils and zbar-tools (Debian
packages that ``deploy/dev/services.sh`` installs): the fonts and images it carries, its text
and where each word stands, its pages rendered on a machine without any font installed, and the QR
codes printed on them."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

_TIMEOUT = 60
CJK = re.compile(r"[\u3400-\u9fff]")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed: deploy/dev/services.sh installs poppler-utils and "
            "zbar-tools (apt-get install poppler-utils zbar-tools)"
        )
    return path


def _run(args: list[str], *, stdin: bytes | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        args, input=stdin, capture_output=True, timeout=_TIMEOUT, check=False, env=env
    )
    assert done.returncode == 0, f"{args[0]} failed: {done.stderr.decode(errors='replace')}"
    return done.stdout.decode()


@dataclass(frozen=True)
class PdfFont:
    name: str
    type: str
    embedded: bool
    subset: bool


def fonts(pdf: Path) -> list[PdfFont]:
    """Every font the PDF uses, as ``pdffonts`` lists them."""
    out = _run([_tool("pdffonts"), str(pdf)]).splitlines()[2:]
    rows = []
    for line in out:
        # name, type (may hold spaces), encoding, emb, sub, uni, object id, generation
        cols = line.split()
        emb, sub = cols[-5], cols[-4]
        rows.append(PdfFont(cols[0], " ".join(cols[1:-6]), emb == "yes", sub == "yes"))
    return rows


@dataclass(frozen=True)
class PdfImage:
    page: int
    width: int
    height: int


def images(pdf: Path) -> list[PdfImage]:
    """Every image drawn on the PDF's pages, as ``pdfimages -list`` lists them (masks left
    out)."""
    out = _run([_tool("pdfimages"), "-list", str(pdf)]).splitlines()[2:]
    rows = []
    for line in out:
        # page, num, type, width, height, …
        cols = line.split()
        if cols[2] == "image":
            rows.append(PdfImage(int(cols[0]), int(cols[3]), int(cols[4])))
    return rows


def text(pdf: Path) -> str:
    """The text ``pdftotext`` reads, whitespace removed (CJK lines break anywhere)."""
    return re.sub(r"\s+", "", _run([_tool("pdftotext"), "-enc", "UTF-8", str(pdf), "-"]))


def lines(pdf: Path) -> list[str]:
    """The text lines ``pdftotext`` reads, stripped, empty ones left out."""
    out = _run([_tool("pdftotext"), "-enc", "UTF-8", str(pdf), "-"])
    return [line.strip() for line in out.splitlines() if line.strip()]


@dataclass(frozen=True)
class Word:
    page: int
    text: str
    box: tuple[float, float, float, float]
    """xmin, ymin, xmax, ymax in points from the page's top left corner."""


_PAGE = re.compile(r"<page |</page>")
_WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
)


def words(pdf: Path) -> list[Word]:
    """Every word with its box, as ``pdftotext -bbox`` finds them."""
    page, found = 0, []
    out = _run([_tool("pdftotext"), "-enc", "UTF-8", "-bbox", str(pdf), "-"])
    for chunk in _PAGE.split(out)[1:]:
        page += 1 if chunk.startswith("width") else 0
        for m in _WORD.finditer(chunk):
            box = (float(m[1]), float(m[2]), float(m[3]), float(m[4]))
            found.append(Word(page, html.unescape(m[5]), box))
    return found


@dataclass(frozen=True)
class Gray:
    """A rendered page: one byte per pixel, 0 black to 255 white."""

    width: int
    height: int
    dpi: int
    pixels: bytes

    def ink(self, box: tuple[float, float, float, float]) -> float:
        """The share of dark pixels inside a box given in points."""
        scale = self.dpi / 72
        x0, y0 = int(box[0] * scale), int(box[1] * scale)
        x1, y1 = int(box[2] * scale) + 1, int(box[3] * scale) + 1
        dark = total = 0
        for y in range(max(y0, 0), min(y1, self.height)):
            row = self.pixels[y * self.width + max(x0, 0) : y * self.width + min(x1, self.width)]
            dark += sum(1 for value in row if value < 128)
            total += len(row)
        return dark / total if total else 0.0


def _fontless_env(workdir: Path) -> dict[str, str]:
    """A fontconfig that knows no font at all, as on a computer without Chinese fonts (and
    without any other): whatever the PDF does not embed cannot be drawn."""
    empty = workdir / "no-fonts"
    empty.mkdir(exist_ok=True)
    conf = workdir / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
        f"<fontconfig><dir>{empty}</dir><cachedir>{workdir / 'fc-cache'}</cachedir></fontconfig>\n",
        encoding="utf-8",
    )
    return {"FONTCONFIG_FILE": str(conf), "PATH": "/usr/bin:/bin", "HOME": str(workdir)}


def render_without_fonts(pdf: Path, workdir: Path, *, dpi: int = 100) -> list[Gray]:
    """Every page in gray as ``pdftoppm`` draws it where no font is installed."""
    workdir = Path(tempfile.mkdtemp(dir=workdir))
    out = workdir / "page"
    _run(
        [_tool("pdftoppm"), "-gray", "-r", str(dpi), str(pdf), str(out)],
        env=_fontless_env(workdir),
    )
    pages = []
    for path in sorted(workdir.glob("page-*.pgm"), key=lambda p: int(p.stem.rsplit("-", 1)[1])):
        data = path.read_bytes()
        magic, width, height, maxval, pixels = data.split(maxsplit=4)
        assert magic == b"P5" and maxval == b"255"
        pages.append(Gray(int(width), int(height), dpi, pixels))
    return pages


def chinese_is_drawn(pdf: Path, workdir: Path, *, min_ink: float = 0.04) -> list[str]:
    """The Chinese words of the PDF that come out blank on a machine without fonts; empty
    when every one is drawn."""
    pages = render_without_fonts(pdf, workdir)
    cjk = [w for w in words(pdf) if CJK.search(w.text)]
    assert cjk, "the PDF has no Chinese text to check"
    return [w.text for w in cjk if pages[w.page - 1].ink(w.box) < min_ink]


def qr_codes(pdf: Path, workdir: Path, *, dpi: int = 150) -> list[list[str]]:
    """The QR codes ``zbarimg`` reads on each page, page by page."""
    workdir = Path(tempfile.mkdtemp(dir=workdir))
    out = workdir / "qr"
    _run([_tool("pdftoppm"), "-png", "-r", str(dpi), str(pdf), str(out)])
    zbarimg = _tool("zbarimg")
    found = []
    for path in sorted(workdir.glob("qr-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1])):
        done = subprocess.run(
            [zbarimg, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(path)],
            capture_output=True,
            timeout=_TIMEOUT,
            check=False,
        )
        # zbarimg exits 4 when it finds no code on the page.
        assert done.returncode in (0, 4), done.stderr.decode(errors="replace")
        found.append(done.stdout.decode().splitlines())
    return found
