"""The join card: a large QR code and the short address of this app, for students to scan."""
import base64
import html

import streamlit as st

from mnist_cnn.join_card import PUBLIC_URL_ENV, app_address, configured_address, qr_png, short_address
from ui.secrets import app_secrets


def join_address(page_path=None):
    """The address students should open (the host's override, else the browser's URL without
    ``page_path``, the url path of the page that shows the card), or None."""
    try:
        return app_address(st.context.url, configured_address(app_secrets()), page_path=page_path)
    except ValueError:
        return None


@st.cache_data(max_entries=8)
def _qr_source(address):
    # Inline, not st.image: a media file re-registered on every refresh of a fragment can show blank.
    return "data:image/png;base64," + base64.b64encode(qr_png(address)).decode()


def join_card_ui(qr_width=220, text_size="2rem", page_path=None, target_page=None):
    """Show the QR code and the address side by side; returns the address (None when unknown).

    ``target_page``: the url path of a page to open straight away (e.g. "Class" for the quiz).
    """
    address = join_address(page_path)
    if address is not None and target_page:
        address = f"{address.rstrip('/')}/{target_page}"
    if address is None:
        st.caption(f"No address to show: set {PUBLIC_URL_ENV} or public_url in secrets.")
        return None
    short = html.escape(short_address(address))
    with st.container(key="join-card"):
        st.markdown(
            f'<div style="display:flex;flex-wrap:wrap;align-items:center;gap:1.2rem;color:#111827">'
            f'<img src="{_qr_source(address)}" alt="QR code of {short}" style="width:{qr_width}px;height:{qr_width}px;'
            f'max-width:none;object-fit:contain;image-rendering:pixelated">'
            f'<div style="font-size:{text_size};line-height:1.25">Scan to join, or open<br>'
            f'<b style="font-size:1.15em;word-break:break-all">{short}</b></div></div>',
            unsafe_allow_html=True,
        )
    return address
