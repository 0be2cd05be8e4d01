"""The join card: the app's public address and a QR code of it, for students to scan from a projector."""
import io
import os
from urllib.parse import urlsplit, urlunsplit

import segno

PUBLIC_URL_ENV = "MNIST_CNN_PUBLIC_URL"
PUBLIC_URL_SECRET = "public_url"


def app_address(browser_url, override=None, page_path=None):
    """The address students should open: ``override`` (set by the host behind a proxy) or the
    browser's URL without the current page's ``page_path`` (e.g. "Train"), reduced to scheme,
    host and path: never a query string (it may carry a teacher's token) or a fragment.
    None when neither is known."""
    url = (override or "").strip() or (browser_url or "").strip()
    if not url:
        return None
    parts = urlsplit(url if "://" in url else f"https://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"Expected an http(s) address for the join card, got {url!r}.")
    path = parts.path.rstrip("/")
    if not override and page_path and path.endswith(f"/{page_path}"):
        path = path.removesuffix(f"/{page_path}")
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def configured_address(secrets=None, environ=None):
    """The override from the environment (``MNIST_CNN_PUBLIC_URL``) or ``public_url`` in secrets."""
    environ = os.environ if environ is None else environ
    return environ.get(PUBLIC_URL_ENV) or (secrets or {}).get(PUBLIC_URL_SECRET) or None


def short_address(address):
    """The address as a person types it: no scheme, no "www.", no trailing slash."""
    parts = urlsplit(address)
    host = parts.netloc.removeprefix("www.")
    return f"{host}{parts.path}".rstrip("/")


def qr_code(address):
    """The QR code of ``address`` (error correction M: readable from a projector at an angle)."""
    return segno.make(address, error="m", micro=False, boost_error=False)


def qr_png(address, scale=10, border=2):
    """The QR code as PNG bytes, dark on white, ``scale`` pixels per module."""
    buffer = io.BytesIO()
    qr_code(address).save(buffer, kind="png", scale=scale, border=border, dark="#111827", light="#ffffff")
    return buffer.getvalue()
