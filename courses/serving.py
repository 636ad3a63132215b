"""How a stored file leaves the site once a view has checked who may see it.

Object storage (S3) can hand the browser a short-lived signed URL, so a large file never
streams through a web process; local disk cannot, and the view sends the file itself.
"""

from django.http import HttpResponseRedirect
from django.utils.http import content_disposition_header


def presigned_redirect(field, *, content_type, filename=None):
    """A redirect to a presigned URL for the stored `field`, or None when its storage
    cannot sign one and the calling view must stream the file.

    Call it only after the access check: whoever holds the URL may fetch the file until
    it expires (the storage's `querystring_expire`). `filename` makes it a download by
    that name. The redirect itself is never cached, so every fetch passes the check again.
    """
    storage = field.storage
    if not getattr(storage, "querystring_auth", False):
        return None
    parameters = {"ResponseContentType": content_type}
    if filename:
        parameters["ResponseContentDisposition"] = content_disposition_header(
            as_attachment=True, filename=filename
        )
    response = HttpResponseRedirect(storage.url(field.name, parameters=parameters))
    response["Cache-Control"] = "no-store"
    return response
