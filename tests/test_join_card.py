import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from mnist_cnn.join_card import PUBLIC_URL_ENV, app_address, configured_address, qr_code, qr_png, short_address

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def test_the_address_never_carries_a_query_string_a_fragment_or_the_page():
    assert app_address("http://10.0.0.5:8501/Train?teacher=s3cret&present=1#x", page_path="Train") == "http://10.0.0.5:8501"
    assert app_address("https://studio.example.org/mnist/", None) == "https://studio.example.org/mnist"
    assert app_address("http://127.0.0.1:8501", "https://class.example.org/app?token=1") == "https://class.example.org/app"
    assert app_address(None, "class.example.org") == "https://class.example.org"
    assert app_address(None, None) is None
    with pytest.raises(ValueError, match="http"):
        app_address("ftp://example.org", None)


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
