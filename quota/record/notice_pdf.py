"""Write a notice's text blocks (``quota.record.notice_text``) as an A4 PDF with ReportLab.

The font must render Chinese: the first of :data:`CJK_FONTS` that exists is embedded
(ReportLab embeds only the glyphs used, so a notice stays small; the font is parsed once per
process, so writing many notices costs about 10 ms each). Debian packages: fonts-wqy-microhei,
fonts-wqy-zenhei or fonts-noto-cjk (``.ci/install-system.sh`` installs the first).
"""

from __future__ import annotations

from pathlib import Path

CJK_FONTS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"),
)
FONT_FAMILY = "cjk"
# Font sizes [pt] and line heights [mm] per block kind.
SIZES_PT = {"title": 16.0, "heading": 12.0, "line": 10.0, "note": 8.5}
LINE_MM = {"title": 9.0, "heading": 7.0, "line": 5.5, "note": 4.6}


class FontMissingError(RuntimeError):
    """No installed font renders Chinese."""


def cjk_font() -> Path:
    """The first installed font of :data:`CJK_FONTS`."""
    for path in CJK_FONTS:
        if path.is_file():
            return path
    raise FontMissingError(
        "no font that renders Chinese is installed (apt-get install fonts-wqy-microhei)"
    )


def _register_font(font: Path) -> str:
    """Register ``font`` with ReportLab once per process; returns its font name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    name = f"{FONT_FAMILY}-{font.stem}"
    try:
        pdfmetrics.getFont(name)
    except KeyError:
        pdfmetrics.registerFont(TTFont(name, str(font), subfontIndex=0))
    return name


def render_pdf(
    blocks: list[tuple[str, str]], *, title: str, lang: str, font: Path | None = None
) -> tuple[bytes, int]:
    """Lay ``blocks`` out on A4 pages; returns the PDF's bytes and its number of pages."""
    import io
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import HRFlowable, Paragraph, SimpleDocTemplate, Spacer

    font_name = _register_font(font or cjk_font())
    # Chinese wraps between any two characters; English at spaces (a SHA-256 fits a line).
    wrap = "CJK" if lang == "zh" else None
    styles = {
        kind: ParagraphStyle(
            kind,
            fontName=font_name,
            fontSize=SIZES_PT[kind],
            leading=LINE_MM[kind] * mm,
            alignment=TA_CENTER if kind == "title" else 0,
            textColor=colors.Color(0.35, 0.35, 0.35) if kind == "note" else colors.black,
            spaceBefore=2 * mm if kind == "heading" else 0,
            spaceAfter=4 * mm if kind == "title" else 0,
            wordWrap=wrap,
        )
        for kind in SIZES_PT
    }
    story = []
    for kind, content in blocks:
        story.append(Paragraph(escape(content), styles[kind]))
        if kind == "heading":
            story.append(HRFlowable(width="100%", thickness=0.5, color=colors.grey))
            story.append(Spacer(1, 1 * mm))
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=title,
        author="QuotaWatch",
        creator="QuotaWatch",
        lang="zh-CN" if lang == "zh" else "en",
    )
    doc.build(story)
    return buffer.getvalue(), doc.page
