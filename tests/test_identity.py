"""The identity carrier: a changed cookie's script stays in the page for a few seconds, then goes."""
from streamlit.testing.v1 import AppTest

import ui.identity as identity
from support.cookie_jar import CookieJar


def carrier_page():
    import time

    import streamlit as st

    from ui.identity import QUIZ_HOST_COOKIE, carry_identity, write_cookie

    if st.button("Become the host"):
        write_cookie(QUIZ_HOST_COOKIE, "ab" * 16, time.time() + 3600)
    carry_identity()


def carried_scripts(app):
    return [html.proto.body for html in app.get("html") if "document.cookie" in html.proto.body]


def test_a_changed_cookie_is_written_on_every_run_for_a_while_then_no_more(monkeypatch):
    jar = CookieJar(monkeypatch)
    app = jar.start(AppTest.from_function(carrier_page), cookies={identity.VISITOR_COOKIE: "0" * 32})
    assert not carried_scripts(app)  # the browser sent the visitor id: nothing to write

    app.button[0].click().run()
    first = carried_scripts(app)
    assert len(first) == 1 and f"{identity.QUIZ_HOST_COOKIE}={'ab' * 16}" in first[0]
    app.run()  # a busy browser may never have run the first script: the next run carries the same one
    assert carried_scripts(app) == first

    monkeypatch.setattr(identity, "CARRY_SECONDS", 0.0)
    app.run()
    assert not carried_scripts(app)
