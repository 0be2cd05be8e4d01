"""The join card: the app's public address and a QR code of it, for students to scan from a projector."""
import io
import ipaddress
import os
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import segno

PUBLIC_URL_ENV = "MNIST_CNN_PUBLIC_URL"
PUBLIC_URL_SECRET = "public_url"
WILDCARD_ADDRESSES = ("", "0.0.0.0", "::")  # a server bound to one of these listens on every network


def is_loopback(host):
    """Whether ``host`` names this machine only (localhost, 127.x.x.x, ::1, or 0.0.0.0 typed into a
    browser): no phone can reach it."""
    host = (host or "").strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
        return address.is_loopback or address.is_unspecified
    except ValueError:
        return False


@dataclass(frozen=True)
class JoinAddress:
    """What the join card shows: the address phones open (None when there is none), and, when the
    browser's own address only works on this computer, why phones cannot use it and how to fix it."""

    url: str | None
    problem: str | None = None


def _reduced(url, page_path=None):
    """``url`` as scheme, host and path only (never a query string, which may carry a token, nor a
    fragment), without the current page's ``page_path``."""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"Expected an http(s) address for the join card, got {url!r}.")
    path = parts.path.rstrip("/")
    if page_path and path.endswith(f"/{page_path}"):
        path = path.removesuffix(f"/{page_path}")
    return parts, path


def app_address(browser_url, override=None, page_path=None):
    """The address students should open: ``override`` (set by the host behind a proxy) or the
    browser's URL without the current page's ``page_path`` (e.g. "Train"), reduced to scheme,
    host and path. None when neither is known."""
    override = (override or "").strip()
    url = override or (browser_url or "").strip()
    if not url:
        return None
    parts, path = _reduced(url, None if override else page_path)
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def join_address(browser_url, override=None, page_path=None, server_address="", network_host=None):
    """The :class:`JoinAddress` for a page opened at ``browser_url``.

    A teacher who opens the app at ``localhost`` (the first address Streamlit prints) would put an
    address on the projector that no phone can open. Then the card shows the server's network address
    instead (``network_host``, as Streamlit's "Network URL"), on the same port and path, provided the
    server listens on every network (``server_address`` empty or a wildcard, as Streamlit's
    ``server.address``); otherwise it says plainly that phones cannot join and how to fix it.
    """
    address = app_address(browser_url, override, page_path)
    if address is None or override and override.strip():
        return JoinAddress(address)
    parts = urlsplit(address)
    if not is_loopback(parts.hostname):
        return JoinAddress(address)
    listens_everywhere = (server_address or "").strip() in WILDCARD_ADDRESSES
    if listens_everywhere and network_host and not is_loopback(network_host):
        host = f"[{network_host}]" if ":" in network_host else network_host
        netloc = f"{host}:{parts.port}" if parts.port else host
        return JoinAddress(urlunsplit((parts.scheme, netloc, parts.path, "", "")))
    where = (
        f"the server listens only on {server_address}" if not listens_everywhere
        else "this computer has no network address"
    )
    return JoinAddress(
        None,
        f"Phones cannot join at {short_address(address)}: that address only works on this computer, and {where}. "
        f"Start the app with `streamlit run app.py --server.address 0.0.0.0` on the classroom network, or set "
        f"{PUBLIC_URL_ENV} (or public_url in secrets) to the address phones use.",
    )


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
