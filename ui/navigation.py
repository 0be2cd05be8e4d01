"""Page links for phones, and a compact first screen there.

Below 768 px Streamlit moves the top navigation into the sidebar, whose page list this app switches
off (see .streamlit/config.toml): without these links a phone shows no navigation at all.
"""
import streamlit as st

# Streamlit's own switch from top navigation to the sidebar (theme breakpoint "md").
PHONE_MAX_WIDTH = 767  # the breakpoint of assets/styles/navigation.css and join-card.css


def phone_navigation_ui(pages):
    """A row of links to ``pages`` (``st.Page`` objects), shown only on screens narrower than 768 px (its styles are
    :func:`ui.page_styles.page_styles`'s)."""
    with st.container(horizontal=True, key="phone-navigation", gap="xxsmall"):
        for page in pages:
            st.page_link(page, label=page.title)

