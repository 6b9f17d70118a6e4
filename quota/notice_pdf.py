"""Write a notice's text blocks (``quota.notice_text``) as an A4 PDF with fpdf2.

The font must render Chinese: the first of :data:`CJK_FONTS` that exists is embedded (fpdf2
embeds only the glyphs used, so a notice stays small). Debian packages: fonts-wqy-microhei,
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


def render_pdf(
    blocks: list[tuple[str, str]], *, title: str, lang: str, font: Path | None = None
) -> tuple[bytes, int]:
    """Lay ``blocks`` out on A4 pages; returns the PDF's bytes and its number of pages."""
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_title(title)
    pdf.set_lang("zh-CN" if lang == "zh" else "en")
    pdf.set_creator("QuotaWatch")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_font(FONT_FAMILY, "", str(font or cjk_font()))
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    for kind, content in blocks:
        pdf.set_font(FONT_FAMILY, size=SIZES_PT[kind])
        if kind == "heading":
            pdf.ln(2)
        pdf.set_text_color(*((90, 90, 90) if kind == "note" else (0, 0, 0)))
        pdf.multi_cell(
            width,
            LINE_MM[kind],
            content,
            align="C" if kind == "title" else "L",
            new_x="LMARGIN",
            new_y="NEXT",
            wrapmode="CHAR",
        )
        if kind == "title":
            pdf.ln(3)
        if kind == "heading":
            y = pdf.get_y()
            pdf.set_draw_color(160, 160, 160)
            pdf.line(pdf.l_margin, y, pdf.l_margin + width, y)
            pdf.ln(1)
    return bytes(pdf.output()), pdf.page
