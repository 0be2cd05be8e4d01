"""Cookies for AppTest sessions, which have no browser: what one session of the app wrote into its
browser's cookies (``ui.identity``) is sent by the next session of that browser (a reload, a tab)."""
import ui.identity as identity


class CookieJar:
    """Stands in for the browsers' cookie jars: ``monkeypatch`` swaps ``ui.identity.request_cookies``."""

    active = None  # the jar of the test running now (the ``cookie_jar`` fixture in tests/conftest.py)

    def __init__(self, monkeypatch):
        self._sending = {}
        monkeypatch.setattr(identity, "request_cookies", lambda: dict(self._sending))

    def start(self, app, cookies=None):
        """Run a new AppTest session of a browser that sends ``cookies`` (name -> value); returns the app."""
        self._sending = dict(cookies or {})
        return app.run()

    @staticmethod
    def browser_cookies(app, sent=None):
        """The cookies the browser of session ``app`` holds now: those it ``sent``, changed by the session."""
        cookies = dict(sent or {})
        written = app.session_state.get(identity.WRITTEN_KEY, {})
        for name, (value, _) in written.items():
            if value:
                cookies[name] = value
            else:
                cookies.pop(name, None)
        return cookies
