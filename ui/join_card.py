"""The join card: a large QR code and the short address of this app, for students to scan."""
import functools
import html
from urllib.parse import urlencode

import streamlit as st
from streamlit import net_util

from classroom.class_set import DEFAULT_ROOM
from classroom.join_card import JoinAddress, configured_address, join_address, qr_png, short_address
from mnist_cnn.display import png_data_url_of_bytes
from ui.identity import JOIN_PARAMETER, current_room
from ui.page_styles import use_styles
from ui.secrets import app_secrets


@functools.cache
def network_host():
    """This machine's address on its network, as Streamlit prints it for "Network URL" (None when it has none).
    Streamlit finds it by a UDP socket's route, which sends nothing."""
    return net_util.get_internal_ip()


def page_join_address(page_path=None):
    """The :class:`JoinAddress` for this page (the host's override, else the browser's URL without
    ``page_path``, the url path of the page that shows the card, on the network address when the
    browser's is ``localhost``)."""
    try:
        return join_address(
            st.context.url, configured_address(app_secrets()), page_path=page_path,
            server_address=st.get_option("server.address"), network_host=network_host(),
        )
    except ValueError as error:
        return JoinAddress(None, str(error))


@st.cache_data(max_entries=8)
def _qr_source(address):
    # Inline, not st.image: a media file re-registered on every refresh of a fragment can show blank.
    return png_data_url_of_bytes(qr_png(address))


def join_card_ui(qr_width=220, text_size="2rem", page_path=None, target_page=None):
    """Show the QR code and the address side by side; returns the address (None when phones cannot join).

    ``target_page``: the url path of a page to open straight away (e.g. "Class" for the quiz).
    """
    joining = page_join_address(page_path)
    if joining.url is None:
        st.warning(joining.problem or "No address to show.", icon=":material/phonelink_off:")
        if current_room() != DEFAULT_ROOM:
            st.markdown(f"Class code **{current_room()}**")
        return None
    address = joining.url if not target_page else f"{joining.url.rstrip('/')}/{target_page}"
    room = current_room()
    code_line = ""
    if room != DEFAULT_ROOM:  # the QR code joins the room; the code is typed on the home page
        address = f"{address}?{urlencode({JOIN_PARAMETER: room})}"
        code_line = f'<br>and type the class code<br><b style="font-size:1.4em;letter-spacing:0.08em">{html.escape(room)}</b>'
    short = html.escape(short_address(address))
    with st.container(key="join-card"):
        st.markdown(
            f'<div style="display:flex;flex-wrap:wrap;align-items:center;gap:1.2rem;color:#111827">'
            f'<img src="{_qr_source(address)}" alt="QR code of {html.escape(address)}" style="width:{qr_width}px;height:{qr_width}px;'
            f'max-width:none;object-fit:contain;image-rendering:pixelated">'
            f'<div style="font-size:{text_size};line-height:1.25">Scan to join, or open<br>'
            f'<b style="font-size:1.15em;word-break:break-all">{short}</b>{code_line}</div></div>',
            unsafe_allow_html=True,
        )
    return address


def home_join_ui():
    """The home page's join card: open on a laptop or projector; on a phone, which has joined already,
    one line with the address to pass on instead of a QR code filling half the first screen."""
    use_styles("join-card")
    room = current_room()
    title = "Open this app on a phone" if room == DEFAULT_ROOM else f"Join class {room} from a phone"
    with st.container(key="home-join"), st.expander(title, expanded=True):
        address = join_card_ui(qr_width=260)
    if address is not None and room != DEFAULT_ROOM:
        with st.container(key="home-join-phone"):
            st.caption(f"Classmates join at **{short_address(address)}** with the code **{room}**")
