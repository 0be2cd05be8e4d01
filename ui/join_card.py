"""The join card: a large QR code and the short address of this app, for students to scan."""
import html

import streamlit as st

from mnist_cnn.join_card import PUBLIC_URL_ENV, app_address, configured_address, qr_png, short_address


def _secrets():
    try:
        return dict(st.secrets)
    except Exception:  # no secrets.toml: Streamlit raises its own error types for that
        return {}


def join_address(page_path=None):
    """The address students should open (the host's override, else the browser's URL without
    ``page_path``, the url path of the page that shows the card), or None."""
    try:
        return app_address(st.context.url, configured_address(_secrets()), page_path=page_path)
    except ValueError:
        return None


@st.cache_data(max_entries=8)
def _qr_png(address):
    return qr_png(address)


def join_card_ui(qr_width=220, text_size="2rem", page_path=None):
    """Show the QR code and the address side by side; returns the address (None when unknown)."""
    address = join_address(page_path)
    if address is None:
        st.caption(f"No address to show: set {PUBLIC_URL_ENV} or public_url in secrets.")
        return None
    with st.container(key="join-card", horizontal=True, vertical_alignment="center", gap="medium"):
        st.image(_qr_png(address), width=qr_width, caption=None)
        st.markdown(
            f'<div style="font-size:{text_size};line-height:1.25;color:#111827">Scan to join, or open<br>'
            f'<b style="font-size:1.15em;word-break:break-all">{html.escape(short_address(address))}</b></div>',
            unsafe_allow_html=True,
        )
    return address
