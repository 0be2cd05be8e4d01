"""The teacher's unlock, lock and sign-in links on a page (AppTest): rights kept in a cookie (never in
the URL), revocation, slowed-down guessing. Cookies go from session to session through a CookieJar."""
import pytest
from streamlit.testing.v1 import AppTest

from classroom.teacher import PASSCODE_ENVIRONMENT_VARIABLE, issue_token
from support.cookie_jar import CookieJar
from ui.identity import TEACHER_COOKIE
from ui.teacher import PASSCODE_KEY, SIGN_IN_PARAMETER, passcode_guard, revocations, sign_in_links

PASSCODE = "blue whale 42"


def page_with_teacher_ui():
    import streamlit as st

    from ui.teacher import teacher_rights, teacher_ui

    shown = teacher_ui()
    st.markdown(f"rights: {shown} {teacher_rights()}")


@pytest.fixture
def jar(monkeypatch):
    return CookieJar(monkeypatch)


@pytest.fixture
def open_page(jar):
    def open_page(cookies=None, query_params=None, secrets=None):
        app = AppTest.from_function(page_with_teacher_ui, default_timeout=30)
        app.query_params.update(query_params or {})
        app.secrets.update(secrets or {})
        return jar.start(app, cookies)

    return open_page


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


def click(app, key):
    return app.button(key=key).click().run()


@pytest.fixture(autouse=True)
def fresh_server_state():
    for resource in (passcode_guard, revocations, sign_in_links):
        resource.clear()
    yield
    for resource in (passcode_guard, revocations, sign_in_links):
        resource.clear()


@pytest.fixture
def passcode_set(monkeypatch):
    monkeypatch.setenv(PASSCODE_ENVIRONMENT_VARIABLE, PASSCODE)


def test_without_a_passcode_everyone_has_the_rights_and_no_secrets_file_is_fine(monkeypatch, open_page):
    monkeypatch.delenv(PASSCODE_ENVIRONMENT_VARIABLE, raising=False)
    app = open_page(query_params={"teacher": "left over from an old link"})
    assert rights(app)
    assert "no teacher passcode is set" in app.caption[0].value
    assert not app.text_input and "teacher" not in app.query_params


def test_a_student_has_no_rights_until_the_teacher_unlocks_and_the_token_goes_into_a_cookie(passcode_set, open_page, jar):
    app = open_page()
    assert not rights(app)
    unlock_with(app, "a guess")
    assert not rights(app)
    assert app.error[0].value == "Wrong passcode. Try again."
    assert TEACHER_COOKIE not in jar.browser_cookies(app)

    unlock_with(app, f"{PASSCODE}\n")
    assert rights(app)
    assert app.session_state[PASSCODE_KEY] == ""  # the field is cleared ...
    assert not app.text_input  # ... and gone
    token = jar.browser_cookies(app)[TEACHER_COOKIE]
    assert PASSCODE not in all_text(app)  # never echoed: not on the page, not in the URL
    assert token not in all_text(app) and not app.query_params  # the token is in no address and on no screen
    assert any("second device" in e.label for e in app.expander)


def test_the_cookie_keeps_the_rights_through_a_reload_and_lock_revokes_it_for_every_holder(passcode_set, open_page, jar):
    teacher = unlock_with(open_page(), PASSCODE)
    cookies = jar.browser_cookies(teacher)
    reloaded = open_page(cookies)  # a new session of the same browser: nothing typed
    assert rights(reloaded)
    photographed = dict(cookies)  # someone copied the token

    click(reloaded, "teacher-lock")
    assert not rights(reloaded)
    assert TEACHER_COOKIE not in jar.browser_cookies(reloaded, cookies)
    assert reloaded.text_input(key=PASSCODE_KEY)
    stolen = open_page(photographed)
    assert not rights(stolen)  # revoked on the server, not just forgotten by this browser
    assert "expired or was signed out" in stolen.error[0].value
    assert TEACHER_COOKIE not in jar.browser_cookies(stolen, photographed)  # and dropped from that browser


def test_sign_out_every_device_revokes_every_token_issued_before_it(passcode_set, open_page, jar):
    laptop = jar.browser_cookies(unlock_with(open_page(), PASSCODE))
    phone = jar.browser_cookies(unlock_with(open_page(), PASSCODE))
    click(open_page(laptop), "teacher-sign-out-everywhere")
    assert not rights(open_page(phone)) and not rights(open_page(laptop))
    assert rights(unlock_with(open_page(), PASSCODE))  # a new unlock works again


def test_a_revocation_survives_a_restart_of_the_server(passcode_set, open_page, jar):
    cookies = jar.browser_cookies(unlock_with(open_page(), PASSCODE))
    click(open_page(cookies), "teacher-lock")
    revocations.clear()  # a restart: the server's memory is gone, the class set's database is not
    assert not rights(open_page(cookies))


def test_a_one_time_sign_in_link_signs_in_a_second_device_once(passcode_set, open_page, jar):
    teacher = unlock_with(open_page(), PASSCODE)
    teacher = click(teacher, "teacher-sign-in-link")
    link = teacher.code[0].value
    assert "Works once" in all_text(teacher) and jar.browser_cookies(teacher)[TEACHER_COOKIE] not in link
    code = link.split(f"{SIGN_IN_PARAMETER}=")[1]

    second = open_page(query_params={SIGN_IN_PARAMETER: code})
    assert rights(second)
    assert SIGN_IN_PARAMETER not in second.query_params  # taken out of the address at once
    own = jar.browser_cookies(second)[TEACHER_COOKIE]
    assert own != jar.browser_cookies(teacher)[TEACHER_COOKIE]  # its own token: Lock there leaves the teacher signed in
    assert rights(open_page(jar.browser_cookies(second)))  # and it survives a reload

    again = open_page(query_params={SIGN_IN_PARAMETER: code})
    assert not rights(again) and "used already or has expired" in again.error[0].value


def test_a_sign_in_link_dies_with_the_token_that_made_it(passcode_set, open_page, jar):
    teacher = click(unlock_with(open_page(), PASSCODE), "teacher-sign-in-link")
    code = teacher.code[0].value.split(f"{SIGN_IN_PARAMETER}=")[1]
    click(teacher, "teacher-lock")
    assert not rights(open_page(query_params={SIGN_IN_PARAMETER: code}))


def test_an_old_teacher_link_is_refused_and_taken_out_of_the_address(passcode_set, open_page):
    app = open_page(query_params={"teacher": issue_token(PASSCODE), "quiz_host": "0" * 32, "voter": "1" * 32})
    assert not rights(app)
    assert not app.query_params
    assert "Teacher links in the address no longer work" in app.error[0].value


def test_a_stale_or_forged_cookie_gives_no_rights_and_says_so(passcode_set, open_page, jar):
    for token in (issue_token(PASSCODE, now=0), issue_token("the old passcode"), "forged.token.x"):
        app = open_page({TEACHER_COOKIE: token})
        assert not rights(app)
        assert TEACHER_COOKIE not in jar.browser_cookies(app, {TEACHER_COOKIE: token})
        assert "expired or was signed out" in app.error[0].value


def test_wrong_passcodes_are_slowed_down_with_a_message_saying_how_long(passcode_set, open_page):
    app = open_page()
    for _ in range(2):
        unlock_with(app, "guess")
        assert app.error[0].value == "Wrong passcode. Try again."
    unlock_with(app, "guess")
    assert app.error[0].value == "Wrong passcode. Too many wrong passcodes from here: wait 2 s before trying again."
    unlock_with(app, PASSCODE)  # even the right passcode waits
    assert not rights(app)
    assert app.error[0].value.startswith("Too many wrong passcodes from here: wait ")
    assert rights(unlock_with(open_page(), PASSCODE))  # another client is not held up


def test_with_the_database_down_the_passcode_is_still_checked(passcode_set, open_page, monkeypatch, tmp_path):
    """The guard counts in memory meanwhile (tests/test_teacher.py); the page shows no traceback."""
    monkeypatch.setenv("MNIST_CNN_CLASS_DB_URL", f"postgresql+psycopg://nobody@/class?host={tmp_path}")  # nothing listens
    app = unlock_with(open_page(), "guess")
    assert not rights(app) and app.error[0].value == "Wrong passcode. Try again."
    assert rights(unlock_with(app, PASSCODE))


def test_the_passcode_can_come_from_secrets_toml(monkeypatch, open_page):
    monkeypatch.delenv(PASSCODE_ENVIRONMENT_VARIABLE, raising=False)
    app = open_page(secrets={"teacher_passcode": PASSCODE})
    assert not rights(app)
    unlock_with(app, PASSCODE)
    assert rights(app)
