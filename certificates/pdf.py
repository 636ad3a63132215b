"""WeasyPrint rendering, with the fonts and stylesheet prepared once per process."""

import base64
import functools
import mimetypes
from pathlib import Path

import segno
from django.core.files.storage import default_storage
from django.template.loader import render_to_string
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from courses.credit_types import PARTICIPATION
from courses.prepared import PreparedQuery
from courses.statements import format_credits

from .models import CertificateCredit

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


# PDF/UA-1 tags the PDF so a screen reader reads it in order: a structure tree (headings,
# tables with their headers, figures with the images' alt texts), /Lang from <html lang>,
# the <title> shown as the window title. It needs no other option: the embedded font
# subsets are enough (never full_fonts, see STACK.md). Measured: 1-3% more render time.
PDF_OPTIONS = {"pdf_variant": "pdf/ua-1"}


def html_to_pdf(html, *, stylesheet):
    return HTML(string=html, base_url=str(STYLES_DIR)).write_pdf(
        stylesheets=[_stylesheet(stylesheet)], font_config=_font_config, **PDF_OPTIONS
    )


def stored_image_data_uri(name):
    """An image from the file storage (local disk or S3 alike) as a data URI, or "" when
    there is none. Embedded, not linked: the PDF is rendered once and kept, and WeasyPrint
    fetches no URL (a presigned one would expire; /media/ is not served)."""
    if not name:
        return ""
    # Where the storage keeps files is part of the key: another MEDIA_ROOT or bucket
    # holds other files under the same names.
    place = (getattr(default_storage, "bucket_name", ""), str(getattr(default_storage, "location", "")))
    try:
        return _stored_image_data_uri(name, place)
    except FileNotFoundError:
        return ""


# Kept per process: a stored name is never written over (a new upload gets a new name),
# so the provider's logo and signature are read once, not twice per certificate (on S3,
# two round trips). A missing file raises, and lru_cache keeps no exception.
@functools.lru_cache(maxsize=16)
def _stored_image_data_uri(name, place):
    kind = mimetypes.guess_type(name)[0] or "image/png"
    # Opened without asking first whether it exists: on S3 that question is a round trip.
    with default_storage.open(name, "rb") as image:
        return f"data:{kind};base64," + base64.b64encode(image.read()).decode()


def credit_facts(lines):
    """Each credit line of a certificate as its facts table shows it, (header, amount): the
    credit a learner claimed in steps, hours of participation as a number under their own
    header (as certificates of participation always printed them), any other type
    awarded whole (a board's MOC points under the board's name)."""
    facts = []
    for line in lines:
        credit_type = line.credit_type
        if credit_type.claim_in_steps:
            facts.append(("Credit claimed", line.amount_display))
        elif credit_type.code == PARTICIPATION:
            facts.append((line.name, format_credits(line.amount)))
        elif credit_type.board:
            facts.append((line.name, line.amount_display))
        else:
            facts.append(("Credit awarded", line.amount_display))
    return facts


def credit_statements(lines):
    """The statements a certificate prints for its credit lines: each accreditation
    statement once (AMA credit and MOC points share the ACCME's), then each designation."""
    accreditation = list(dict.fromkeys(line.accreditation_statement for line in lines if line.accreditation_statement))
    return accreditation + [line.designation_statement for line in lines if line.designation_statement]


# Every render reads them: compiled once.
_CREDIT_LINES = PreparedQuery(
    CertificateCredit,
    lambda *, certificate_id: CertificateCredit.objects.filter(certificate_id=certificate_id)
    .select_related("credit_type"),
    certificate_id=-(2**62) + 89,
)


def certificate_html(certificate):
    verification_url = certificate.get_verification_url()
    lines = _CREDIT_LINES.list(certificate_id=certificate.pk)
    return render_to_string(
        "certificates/certificate_pdf.html",
        {
            "certificate": certificate,
            "credit_facts": credit_facts(lines),
            "statements": credit_statements(lines),
            "verification_url": verification_url,
            "qr_code": qr_data_uri(verification_url),
            "logo": stored_image_data_uri(certificate.provider_logo),
            "signature": stored_image_data_uri(certificate.provider_signature),
        },
    )


def certificate_pdf(certificate):
    return html_to_pdf(certificate_html(certificate), stylesheet="certificate.css")


def renderer_warm():
    """Load what every render needs (fonts, the certificate stylesheet, WeasyPrint's own
    caches) by rendering a page once, so a worker's first certificate is not the slow one."""
    html_to_pdf('<html lang="en"><title>-</title><p class="name">-</p></html>', stylesheet="certificate.css")
