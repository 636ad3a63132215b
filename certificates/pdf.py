"""WeasyPrint rendering, with the fonts and stylesheet prepared once per process."""

import base64
from pathlib import Path

import segno
from django.template.loader import render_to_string
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

STYLES_DIR = Path(__file__).resolve().parent / "styles"

_font_config = None
_stylesheets = {}


def _stylesheet(name):
    global _font_config
    if _font_config is None:
        _font_config = FontConfiguration()
    if name not in _stylesheets:
        _stylesheets[name] = CSS(
            string=(STYLES_DIR / name).read_text(encoding="utf-8"), font_config=_font_config
        )
    return _stylesheets[name]


def qr_data_uri(url):
    # A fixed mask skips segno's evaluation of all eight, a third of a certificate's
    # overhead over the bare render; any mask decodes (checked with zbarimg in the tests).
    svg = segno.make_qr(url, error="m", mask=0).svg_inline(scale=4, border=0)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def html_to_pdf(html, *, stylesheet):
    return HTML(string=html, base_url=str(STYLES_DIR)).write_pdf(
        stylesheets=[_stylesheet(stylesheet)], font_config=_font_config
    )


def certificate_html(certificate):
    return render_to_string(
        "certificates/certificate_pdf.html",
        {
            "certificate": certificate,
            "verification_url": certificate.get_verification_url(),
            "qr_code": qr_data_uri(certificate.get_verification_url()),
        },
    )


def certificate_pdf(certificate):
    return html_to_pdf(certificate_html(certificate), stylesheet="certificate.css")
