"""The font of every PDF document: one CJK font with TrueType outlines, embedded as a subset.

A PDF that names a font without embedding it (reportlab's CID fonts such as STSong-Light)
shows blank text on a computer or phone without Chinese fonts. reportlab embeds, and subsets,
only fonts with TrueType (glyf) outlines, so the font must be a ``.ttf`` or ``.ttc`` of that
kind whose licence allows embedding; OpenType fonts with PostScript (CFF) outlines, such as
Noto Sans CJK, are refused.

The font is the file named by ``SHELTERWATCH_PDF_FONT``, or else the first of
:data:`SEARCH_PATHS` that exists (Debian packages; ``scripts/bootstrap`` installs the first).
A collection (``.ttc``) contributes its first face. Nothing found, or a file reportlab cannot
embed, is :class:`~inspection.errors.Unavailable` with a message that says what to do.

reportlab's CJK line breaking knows the Japanese punctuation that may not start a line but
not the Chinese full-width comma, colon, semicolon, question and exclamation marks or closing
quotes; loading the font adds them (GB/T 15834), so no line of a document starts with "，".
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reportlab.lib import textsplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.platypus import paragraph

from inspection.errors import Unavailable

SEARCH_PATHS: tuple[Path, ...] = (
    # fonts-wqy-microhei: Apache-2.0 (or GPL-3+ with the font exception), TrueType outlines
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    # fonts-wqy-zenhei: GPL-2 with the font embedding exception
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    # fonts-arphic-uming: Arphic Public License, a Ming (Song) face
    Path("/usr/share/fonts/truetype/arphic/uming.ttc"),
)
INSTALL_HINT = (
    "set SHELTERWATCH_PDF_FONT to a CJK font file with TrueType outlines (.ttf or .ttc), "
    "or install Debian's fonts-wqy-microhei"
)
PROBE = "人防工程整改通知书编号：（）0A"
"""Characters every document prints; a font without them (a Latin-only font) is refused."""

NO_LINE_START = "，。、；：？！）》」』】〕”’…—"
"""Chinese punctuation that never starts a line."""

_lock = threading.Lock()
_render_lock = threading.Lock()
_registered: dict[Path, str] = {}


@contextmanager
def rendering() -> Iterator[None]:
    """Hold while a document is built and saved: reportlab subsets a TrueType font through
    state kept on the font shared by the whole process, so two documents built at once (two
    requests) corrupt each other's subsets. One document at a time per process."""
    with _render_lock:
        yield


def find_font(configured: Path | None, search: tuple[Path, ...] = SEARCH_PATHS) -> Path:
    """The font file to use: ``configured`` when given (it must exist), else the first
    existing file of ``search``."""
    if configured is not None:
        if not configured.is_file():
            raise Unavailable(
                f"SHELTERWATCH_PDF_FONT names {str(configured)!r}, which is not a file; "
                + INSTALL_HINT,
                code="pdf_font_missing",
            )
        return configured
    for path in search:
        if path.is_file():
            return path
    raise Unavailable(
        "no font for PDF documents: looked for "
        + ", ".join(str(p) for p in search)
        + "; "
        + INSTALL_HINT,
        code="pdf_font_missing",
    )


def load_font(configured: Path | None, search: tuple[Path, ...] = SEARCH_PATHS) -> str:
    """The reportlab name of the PDF font, registered once per process (parsing a CJK font
    takes most of a second)."""
    path = find_font(configured, search).resolve()
    with _lock:
        name = _registered.get(path)
        if name is None:
            name = f"SW{len(_registered)}-{path.stem}"
            try:
                font = TTFont(name, str(path), subfontIndex=0)
            except (TTFError, OSError) as exc:
                raise Unavailable(
                    f"the PDF font {str(path)!r} cannot be embedded ({exc}); " + INSTALL_HINT,
                    code="pdf_font_unusable",
                ) from exc
            missing = [c for c in PROBE if ord(c) not in font.face.charToGlyph]
            if missing:
                raise Unavailable(
                    f"the PDF font {str(path)!r} has no glyph for {''.join(missing)!r}; "
                    + INSTALL_HINT,
                    code="pdf_font_unusable",
                )
            pdfmetrics.registerFont(font)
            _chinese_line_breaking()
            _registered[path] = name
    return name


def _chinese_line_breaking() -> None:
    """Add Chinese punctuation to what reportlab's CJK wrapping keeps off a line's start:
    the constant that ``wordSplit`` (one run of text) and ``cjkFragSplit`` (mixed runs)
    read when they wrap a paragraph."""
    for module in (textsplit, paragraph):
        known: str = module.ALL_CANNOT_START
        module.ALL_CANNOT_START = known + "".join(c for c in NO_LINE_START if c not in known)
