"""The teacher's unlock and lock on a page (AppTest): rights, the token in the URL, slowed-down guessing."""
import pytest
from streamlit.testing.v1 import AppTest

from mnist_cnn.teacher import PASSCODE_ENVIRONMENT_VARIABLE, issue_token
from ui.teacher import PASSCODE_KEY, TOKEN_PARAMETER, attempt_limiter

PASSCODE = "blue whale 42"


def page_with_teacher_ui():
    import streamlit as st

    from ui.teacher import teacher_rights, teacher_ui

    shown = teacher_ui()
    st.markdown(f"rights: {shown} {teacher_rights()}")


def open_page(query_params=None, secrets=None):
    app = AppTest.from_function(page_with_teacher_ui, default_timeout=30)
    app.query_params.update(query_params or {})
    app.secrets.update(secrets or {})
    return app.run()


def rights(app):
    assert not app.exception, app.exception
    shown, asked = next(m.value for m in app.markdown if m.value.startswith("rights:")).split()[1:]
    assert shown == asked, "teacher_ui() and teacher_rights() disagree"
    return asked == "True"


def all_text(app):
    elements = [*app.markdown, *app.caption, *app.code, *app.error, *app.warning, *app.info, *app.text_input]
    return " ".join(str(element.value) for element in elements) + str(app.query_params)


def unlock_with(app, passcode):
    app.text_input(key=PASSCODE_KEY).input(passcode)
    return next(b for b in app.button if b.label == "Unlock").click().run()


@pytest.fixture(autouse=True)
def fresh_limiter():
    attempt_limiter.clear()
    yield
    attempt_limiter.clear()


@pytest.fixture
def passcode_set(monkeypatch):
    monkeypatch.setenv(PASSCODE_ENVIRONMENT_VARIABLE, PASSCODE)


def test_without_a_passcode_everyone_has_the_rights_and_no_secrets_file_is_fine(monkeypatch):
    monkeypatch.delenv(PASSCODE_ENVIRONMENT_VARIABLE, raising=False)
    app = open_page({TOKEN_PARAMETER: "left over from an old link"})
    assert rights(app)
    assert "no teacher passcode is set" in app.caption[0].value
    assert not app.text_input and TOKEN_PARAMETER not in app.query_params


def test_a_student_has_no_rights_until_the_teacher_unlocks(passcode_set):
    app = open_page()
    assert not rights(app)
    unlock_with(app, "a guess")
    assert not rights(app)
    assert app.error[0].value == "Wrong passcode. Try again."
    assert TOKEN_PARAMETER not in app.query_params

    unlock_with(app, f"{PASSCODE}\n")
    assert rights(app)
    assert app.session_state[PASSCODE_KEY] == ""  # the field is cleared ...
    assert not app.text_input  # ... and gone
    assert PASSCODE not in all_text(app)  # never echoed: not on the page, not in the URL
    token = app.query_params[TOKEN_PARAMETER]
    assert token in app.code[0].value  # the teacher link for a second device
    assert any("Teacher link for your second device" in e.label for e in app.expander)


def test_the_token_in_the_url_gives_the_rights_to_a_reload_or_a_second_device(passcode_set):
    teacher = unlock_with(open_page(), PASSCODE)
    token = teacher.query_params[TOKEN_PARAMETER]
    second_device = open_page({TOKEN_PARAMETER: token})  # a new session: nothing typed
    assert rights(second_device)
    assert second_device.query_params[TOKEN_PARAMETER] == token  # kept in the URL for the next reload


def test_lock_signs_out_and_takes_the_token_out_of_the_url(passcode_set):
    teacher = unlock_with(open_page(), PASSCODE)
    next(b for b in teacher.button if b.label == "Lock").click().run()
    assert not rights(teacher)
    assert TOKEN_PARAMETER not in teacher.query_params
    assert teacher.text_input(key=PASSCODE_KEY)


def test_a_stale_or_forged_token_gives_no_rights_and_says_so(passcode_set):
    for token in (issue_token(PASSCODE, now=0), issue_token("the old passcode"), "forged.token.x"):
        app = open_page({TOKEN_PARAMETER: token})
        assert not rights(app)
        assert TOKEN_PARAMETER not in app.query_params
        assert "This teacher link has expired (or the passcode changed)" in app.error[0].value


def test_wrong_passcodes_are_slowed_down_with_a_message_saying_how_long(passcode_set):
    app = open_page()
    for _ in range(2):
        unlock_with(app, "guess")
        assert app.error[0].value == "Wrong passcode. Try again."
    unlock_with(app, "guess")
    assert app.error[0].value == "Wrong passcode. Too many wrong passcodes: wait 2 s before trying again."
    unlock_with(app, PASSCODE)  # even the right passcode waits
    assert not rights(app)
    assert app.error[0].value.startswith("Too many wrong passcodes: wait ")


def test_the_passcode_can_come_from_secrets_toml(monkeypatch):
    monkeypatch.delenv(PASSCODE_ENVIRONMENT_VARIABLE, raising=False)
    app = open_page(secrets={"teacher_passcode": PASSCODE})
    assert not rights(app)
    unlock_with(app, PASSCODE)
    assert rights(app)
