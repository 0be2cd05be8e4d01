import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from classroom.join_card import (
    PUBLIC_URL_ENV,
    app_address,
    configured_address,
    is_loopback,
    join_address,
    qr_code,
    qr_png,
    short_address,
)

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def test_the_address_never_carries_a_query_string_a_fragment_or_the_page():
    assert app_address("http://10.0.0.5:8501/Train?teacher=s3cret&present=1#x", page_path="Train") == "http://10.0.0.5:8501"
    assert app_address("https://studio.example.org/mnist/", None) == "https://studio.example.org/mnist"
    assert app_address("http://127.0.0.1:8501", "https://class.example.org/app?token=1") == "https://class.example.org/app"
    assert app_address(None, "class.example.org") == "https://class.example.org"
    assert app_address(None, None) is None
    with pytest.raises(ValueError, match="http"):
        app_address("ftp://example.org", None)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]", "0.0.0.0", "app.localhost"])
def test_loopback_hosts_are_recognised(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["10.0.0.5", "192.168.1.20", "studio.example.org", "localhost.example.org", "fe80::1"])
def test_network_hosts_are_not_loopback(host):
    assert not is_loopback(host)


def test_a_localhost_page_shows_the_servers_network_address_on_the_same_port_and_path():
    joining = join_address("http://localhost:8501/Train", page_path="Train", server_address="", network_host="192.168.1.20")
    assert joining == join_address("http://127.0.0.1:8501/Train", page_path="Train", server_address="0.0.0.0",
                                   network_host="192.168.1.20")
    assert joining.url == "http://192.168.1.20:8501" and joining.problem is None
    assert join_address("http://[::1]:9000/studio", server_address="::", network_host="fe80::2").url == "http://[fe80::2]:9000/studio"


def test_a_localhost_page_says_plainly_when_phones_cannot_join_and_how_to_fix_it():
    bound_to_loopback = join_address("http://127.0.0.1:8501", server_address="127.0.0.1", network_host="192.168.1.20")
    no_network = join_address("http://localhost:8501", server_address="", network_host=None)
    only_loopback_network = join_address("http://localhost:8501", server_address="", network_host="127.0.0.1")
    for joining in (bound_to_loopback, no_network, only_loopback_network):
        assert joining.url is None
        assert "Phones cannot join at" in joining.problem and PUBLIC_URL_ENV in joining.problem
        assert "--server.address 0.0.0.0" in joining.problem
    assert "listens only on 127.0.0.1" in bound_to_loopback.problem
    assert "no network address" in no_network.problem


def test_a_network_address_or_an_override_is_used_as_it_is():
    assert join_address("http://10.0.0.5:8501/Draw", page_path="Draw", network_host="192.168.1.20").url == "http://10.0.0.5:8501"
    override = join_address("http://localhost:8501", "https://class.example.org/app", server_address="127.0.0.1")
    assert override.url == "https://class.example.org/app" and override.problem is None


def test_short_address_is_what_a_person_types():
    assert short_address("https://www.example.org/mnist") == "example.org/mnist"
    assert short_address("http://10.0.0.5:8501") == "10.0.0.5:8501"


def test_the_override_comes_from_the_environment_or_the_secrets():
    assert configured_address({}, environ={PUBLIC_URL_ENV: "https://a.example"}) == "https://a.example"
    assert configured_address({"public_url": "https://b.example"}, environ={}) == "https://b.example"
    assert configured_address({}, environ={}) is None


def decoded_modules(png, scale=10, border=2):
    """The QR modules drawn in ``png`` (True = dark), read at each module's centre."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    size = pixels.shape[0] // scale - 2 * border
    centres = (np.arange(size) + border) * scale + scale // 2
    return pixels[np.ix_(centres, centres)] < 128


@pytest.mark.parametrize("address", ["http://10.0.0.5:8501", "https://mnist-cnn-studio.streamlit.app"])
def test_the_qr_code_encodes_the_address(address):
    drawn = decoded_modules(qr_png(address))
    assert np.array_equal(drawn, np.array(qr_code(address).matrix, dtype=bool))
    other = np.array(qr_code(address.replace("0", "1").replace("mnist", "mnisx")).matrix, dtype=bool)
    assert other.shape != drawn.shape or not np.array_equal(drawn, other)  # the comparison can tell addresses apart


def test_home_page_shows_the_join_card(monkeypatch):
    monkeypatch.setenv(PUBLIC_URL_ENV, "https://class.example.org/studio")
    app = AppTest.from_file(APP, default_timeout=120).run()
    assert not app.exception
    assert any("class.example.org/studio" in markdown.value for markdown in app.markdown)
    card = next(markdown.value for markdown in app.markdown if "Scan to join" in markdown.value)
    source = card.split('src="data:image/png;base64,')[1].split('"')[0]
    expected = np.array(qr_code("https://class.example.org/studio").matrix, dtype=bool)
    assert np.array_equal(decoded_modules(base64.b64decode(source)), expected)


def _card(app):
    return next((markdown.value for markdown in app.markdown if "Scan to join" in markdown.value), None)


def test_home_page_opened_at_127_0_0_1_shows_the_network_address(monkeypatch):
    import ui.join_card

    monkeypatch.delenv(PUBLIC_URL_ENV, raising=False)
    monkeypatch.setattr(ui.join_card, "network_host", lambda: "192.168.1.20")
    app = AppTest.from_file(APP, default_timeout=120)
    app.context["url"] = "http://127.0.0.1:8501/"
    app.run()
    assert not app.exception
    card = _card(app)
    assert "192.168.1.20:8501" in card and "127.0.0.1" not in card
    source = card.split('src="data:image/png;base64,')[1].split('"')[0]
    expected = np.array(qr_code("http://192.168.1.20:8501").matrix, dtype=bool)
    assert np.array_equal(decoded_modules(base64.b64decode(source)), expected)
    assert not app.warning


def test_home_page_opened_at_localhost_without_a_network_warns_instead_of_a_useless_qr_code(monkeypatch):
    import ui.join_card

    monkeypatch.delenv(PUBLIC_URL_ENV, raising=False)
    monkeypatch.setattr(ui.join_card, "network_host", lambda: None)
    app = AppTest.from_file(APP, default_timeout=120)
    app.context["url"] = "http://localhost:8501/"
    app.run()
    assert not app.exception
    assert _card(app) is None
    assert any("Phones cannot join at localhost:8501" in warning.value and PUBLIC_URL_ENV in warning.value for warning in app.warning)


@pytest.mark.browser
def test_the_join_card_at_127_0_0_1_tells_the_teacher_that_phones_cannot_join(app_url, browser):
    """The shared test server listens on 127.0.0.1 only: a card there must not offer that address to phones."""
    from support.app_server import save_screenshot, wait_for_app_idle

    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    try:
        page.goto(app_url)  # http://127.0.0.1:<port>
        wait_for_app_idle(page)
        page.get_by_role("button", name="Start a class").click()  # a class's join card opens by itself
        warning = page.get_by_text("Phones cannot join at 127.0.0.1:")
        warning.wait_for()
        assert PUBLIC_URL_ENV in warning.inner_text()
        assert page.locator("img[alt^='QR code']").count() == 0
        save_screenshot(page, "join-card-127-0-0-1")
    finally:
        context.close()


@pytest.mark.browser
def test_a_phone_joins_a_class_by_its_code_and_stays_in_it_through_a_reload_and_page_changes(app_url, browser):
    """The room is a cookie written by the page's script: only a real browser shows that it sticks."""
    from support.app_server import save_screenshot, wait_for_app_idle

    teacher_context = browser.new_context(viewport={"width": 1920, "height": 1080})
    phone_context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    try:
        teacher = teacher_context.new_page()
        teacher.goto(app_url)
        wait_for_app_idle(teacher)
        teacher.get_by_role("button", name="Start a class").click()
        teacher.locator(".st-key-room-line").get_by_text("you teach it").wait_for()
        code = teacher.locator(".st-key-room-line strong").first.inner_text().strip()

        phone = phone_context.new_page()
        phone.goto(app_url)
        wait_for_app_idle(phone)
        phone.get_by_label("Class code").fill(f"{code[:3].lower()} {code[3:].lower()}")
        phone.get_by_role("button", name="Join").tap()
        line = phone.locator(".st-key-room-line")
        line.get_by_text(code).wait_for()
        assert "you are a student" in line.inner_text()
        assert phone.get_by_role("button", name="Join").count() == 0
        phone.reload()
        line.get_by_text(code).wait_for()  # the cookie came back with the reload
        phone.locator(".st-key-phone-navigation").get_by_role("link", name="Train").tap()
        phone.get_by_text("The teacher starts runs here").wait_for()
        assert code in line.inner_text() and "Teacher of class" not in phone.locator("body").inner_text()
        save_screenshot(phone, "room-joined-phone-train")
        stranger = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
        try:
            outsider = stranger.new_page()
            outsider.goto(f"{app_url}/Train")
            outsider.get_by_text("This is the open studio").wait_for()
            assert code not in outsider.locator("body").inner_text()  # nothing of the room outside it
        finally:
            stranger.close()
    finally:
        teacher_context.close()
        phone_context.close()
