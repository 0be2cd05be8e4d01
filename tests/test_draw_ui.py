"""The Draw page's verdict box for each verdict: the big digit only for "digit", the message always."""
import pytest
from streamlit.testing.v1 import AppTest


def show_verdict(verdict, digit, message):
    from types import SimpleNamespace

    from ui.draw import verdict_ui

    guess = None if verdict == "blank" else 7  # the most likely digit, whatever the verdict
    verdict_ui(SimpleNamespace(verdict=verdict, digit=digit, guess=guess, message=message))


@pytest.mark.parametrize(
    ("verdict", "digit", "message"),
    [
        ("digit", 7, "The network reads 7 with probability 98%."),
        ("unsure", None, "Not sure: maybe 7 (45%), maybe 1 (30%)."),
        ("not a digit", None, "That looks like a line, not a digit <b>."),
        ("blank", None, "Nothing drawn yet: draw one digit, 0 to 9."),
    ],
)
def test_the_big_digit_shows_only_for_a_digit_and_the_message_always(verdict, digit, message):
    app = AppTest.from_function(show_verdict, args=(verdict, digit, message)).run()
    assert not app.exception
    (box,) = [markdown.value for markdown in app.markdown if 'class="verdict ' in markdown.value]
    assert f'class="verdict verdict-{verdict.replace(" ", "-")}"' in box
    assert ("predicted-digit" in box) == (verdict == "digit")
    assert ('<p class="predicted-digit">7</p>' in box) == (verdict == "digit")
    assert "&lt;b&gt;" in box or "<b>" not in message  # the message is text, not markup
