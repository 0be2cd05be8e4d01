"""Page links for phones, and a compact first screen there.

Below 768 px Streamlit moves the top navigation into the sidebar, whose page list this app switches
off (see .streamlit/config.toml): without these links a phone shows no navigation at all.
"""
import streamlit as st

# Streamlit's own switch from top navigation to the sidebar (theme breakpoint "md").
PHONE_MAX_WIDTH = 767

_STYLE = f"""<style>
@media (min-width: {PHONE_MAX_WIDTH + 1}px) {{ .st-key-phone-navigation {{ display: none; }} }}
@media (max-width: {PHONE_MAX_WIDTH}px) {{
  .stMainBlockContainer {{ padding: 3.25rem 0.5rem 4rem 0.5rem; }}
  .stMainBlockContainer h1 {{ font-size: 1.6rem; padding: 0; }}
  [data-testid="stMetricValue"] {{ font-size: 1.75rem; }}
  .st-key-phone-navigation a {{ min-height: 2.25rem; padding: 0 0.45rem; }}
  .st-key-phone-navigation a > span:has([data-testid="stIconMaterial"]) {{ display: none; }}  /* five links, one row */
  [data-testid="stExpandSidebarButton"] {{ display: none; }}  /* the sidebar only repeats these links */
  [data-testid="stMainMenuButton"] {{ min-width: 2.25rem; min-height: 2.25rem; }}  /* 32 px at least */
  [data-testid="stHeaderActionElements"] {{ display: none; }}  /* headings' 17 px anchor links: a hover feature */
}}
</style>"""


def phone_navigation_ui(pages):
    """A row of links to ``pages`` (``st.Page`` objects), shown only on screens narrower than 768 px."""
    st.html(_STYLE)
    with st.container(horizontal=True, key="phone-navigation", gap="xxsmall"):
        for page in pages:
            st.page_link(page, label=page.title)

