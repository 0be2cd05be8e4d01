"""The class quiz on the Class page: "Guess what the network says".

Every screen redraws the quiz once a second (a fragment), so a new round or the reveal reaches every
phone within two seconds. The quiz lives in the class set's database (:class:`classroom.quiz.Quiz`),
so every server process on it shows one quiz and a restart keeps it; a voter is known by the browser's
visitor id (a cookie, :mod:`ui.identity`), so a reload or a second tab keeps its vote and score.
Who runs the quiz: the teacher with a passcode set, else the visitor who started it (a random host
token in a cookie, never in the URL). Element keys and CSS classes are stable: the class load benchmark
finds the quiz by them: containers ``quiz-digit`` and ``quiz-result``, buttons
``quiz-vote-0``…``quiz-vote-9`` (``quiz-truth-0``… for the second question), ``quiz-reveal-button``,
``quiz-next-button``, ``quiz-end-button``; the classes ``quiz-round`` (the round number, with the
quiz's ``data-version``), ``quiz-vote-count`` (teacher and presenter) and ``quiz-reveal`` (the
network's answer, sent only once revealed).
"""
import re
import secrets
import time

import numpy as np
import streamlit as st

from classroom.class_set import DEFAULT_ROOM, ClassSetUnavailableError, database_url
from classroom.quiz import NETWORK, TRUTH, UNAVAILABLE_MESSAGE, Quiz, QuizError, QuizUnavailableError
from mnist_cnn.data import NUM_CLASSES, load_test_set
from mnist_cnn.display import enlarge, png_data_url
from ui.active_model import active_model_label, active_predictor, test_set_probabilities
from ui.class_set import class_set, configured_url, shared_class_set
from ui.draw import last_reading
from ui.identity import QUIZ_HOST_COOKIE, carry_identity, current_room, read_cookie, visitor_id, write_cookie
from ui.join_card import join_card_ui
from ui.page_styles import use_styles
from ui.presenter import PRESENT_PARAM, presenter_mode, presenter_toggle
from ui.teacher import class_mode_on, is_room_open, teacher_rights

REFRESH_SECONDS = 1.0
MESSAGE_SECONDS = 6.0
HOST_TOKEN_SECONDS = 12 * 3600  # how long a browser keeps the host token of a quiz it started
_MESSAGE_KEY = "quiz_message"
_HOST_TOKEN = re.compile(r"[0-9a-f]{32}")
SOURCE_TEST, SOURCE_CLASS, SOURCE_DRAWING = "Test digit", "Class set", "My drawing"  # short: one row on a phone
_SOURCE_KEY = "quiz-source"
_ASK_TRUTH_KEY = "quiz-ask-truth"
_ASK_TRUTH_CHOICE = "quiz_ask_truth"  # kept when the checkbox is not drawn (e.g. on the Mistakes page)
CLASS_PAGE = "app_pages/4_Class.py"
CLASS_PATH = "Class"  # the URL path app.py gives the Class page (its title)



def _say(text):
    """A message for this session's quiz, shown for a few seconds (the quiz redraws every second)."""
    st.session_state[_MESSAGE_KEY] = (text, time.monotonic())


def _message():
    text, said = st.session_state.get(_MESSAGE_KEY) or (None, 0.0)
    if text is not None and time.monotonic() - said > MESSAGE_SECONDS:
        st.session_state.pop(_MESSAGE_KEY, None)
        return None
    return text


@st.cache_resource(show_spinner=False, max_entries=500)
def quiz_on(url, room):
    """The :class:`Quiz` of ``room`` on the database at ``url``, one per server: it serves every session in the room."""
    return Quiz(shared_class_set(url), room)


def shared_quiz():
    """The quiz of this browser's class room in the app's database, shared by every session and server in the room."""
    try:
        return quiz_on(database_url(configured_url()), current_room())
    except ClassSetUnavailableError as error:  # the configured address is no database URL
        raise QuizUnavailableError(UNAVAILABLE_MESSAGE) from error


def _host_token():
    token = read_cookie(QUIZ_HOST_COOKIE)
    return token if token and _HOST_TOKEN.fullmatch(token) else None


def quiz_control():
    """``(may control, host token, teacher)`` for this session.

    In a class room, or with a passcode: the teacher. Without: the visitor who started the quiz, or anyone
    while no one runs it.
    """
    host = _host_token()
    if class_mode_on() or current_room() != DEFAULT_ROOM:
        teacher = teacher_rights()
        return teacher, host, teacher
    return shared_quiz().may_control(host), host, False


def _act(action):
    """Run a quiz action for this session with its rights; a refusal becomes the page's message."""
    try:
        may, host, teacher = quiz_control()
        if not may:
            _say("Only the teacher who started the quiz can run it.")
            return False
        if host is None:  # the first move of a new host: from now on this browser runs the quiz
            host = secrets.token_hex(16)
            write_cookie(QUIZ_HOST_COOKIE, host, time.time() + HOST_TOKEN_SECONDS)
        action(shared_quiz(), host, teacher)
    except QuizError as error:
        _say(str(error))
        return False
    return True


def start_round(image, probabilities, label, source, model):
    """Open a new round on a digit (the caller's active model's probabilities); False with a message when refused.

    The round also asks "what digit is it really?" when the teacher ticked it and the label is known.
    """
    ask_truth = bool(st.session_state.get(_ASK_TRUTH_CHOICE))
    return _act(lambda quiz, host, teacher: quiz.start_round(image, probabilities, label, source, model, host, teacher, ask_truth))


def _test_digit_round():
    images, labels = load_test_set()
    index = int(np.random.default_rng().integers(len(images)))
    start_round(images[index], test_set_probabilities()[index], int(labels[index]), f"test digit #{index}", active_model_label())


def _class_digit_round():
    try:
        digits = class_set().digits()
    except ClassSetUnavailableError as error:
        _say(str(error))
        return
    if not len(digits):
        _say("The class set is empty: draw digits on the Draw page and give them to it first.")
        return
    i = int(np.random.default_rng().integers(len(digits)))
    probabilities = active_predictor().probabilities(digits.images[i][None])[0]
    start_round(digits.images[i], probabilities, int(digits.labels[i]), f"class set digit #{int(digits.ids[i])}",
                active_model_label())


def _drawing_round():
    reading = last_reading()
    if reading is None or reading.image is None:
        _say("Draw a digit on the Draw page first: the quiz asks about your last drawing there.")
        return
    start_round(reading.image, reading.probabilities, None, "the teacher's drawing", active_model_label())


_ROUND_MAKERS = {SOURCE_TEST: _test_digit_round, SOURCE_CLASS: _class_digit_round, SOURCE_DRAWING: _drawing_round}


def _new_round():
    _ROUND_MAKERS[st.session_state.get(_SOURCE_KEY) or SOURCE_TEST]()


def _remember_ask_truth():
    st.session_state[_ASK_TRUTH_CHOICE] = st.session_state[_ASK_TRUTH_KEY]


def _reveal():
    _act(lambda quiz, host, teacher: quiz.reveal(host, teacher))


def _end():
    _act(lambda quiz, host, teacher: quiz.end(host, teacher))


def _vote(digit, round_number, question=NETWORK):
    # The quiz redraws alone (a fragment), so a phone may still show an ended class's quiz (app.py leaves the class
    # at the next full run of a page); with the database down the vote fails with its own message.
    if is_room_open(current_room()) is False:
        _say("This class has ended: its quiz takes no more votes.")
        return
    try:
        shared_quiz().vote(visitor_id(), digit, round_number, question)
    except QuizError as error:
        _say(str(error))


def bars_html(view):
    """The network's probabilities next to the share of the class's votes, for each digit (HTML)."""
    votes = view.vote_counts / max(int(view.vote_counts.sum()), 1)
    cells = []
    for digit in range(NUM_CLASSES):
        network, share = float(view.probabilities[digit]), float(votes[digit])
        cells.append(
            f'<div class="quiz-bar-pair" title="{digit}: network {network:.0%}, class {share:.0%}">'
            f'<div class="quiz-bar network" style="height:{network:.1%}"></div>'
            f'<div class="quiz-bar votes" style="height:{share:.1%}"></div></div>'
        )
    labels = "".join(
        f'<div class="quiz-bar-label{" answer" if digit == view.network_answer else ""}">{digit}</div>' for digit in range(NUM_CLASSES)
    )
    return (
        f'<div class="quiz-bars" role="img" aria-label="{_bars_summary(view.probabilities, votes)}">{"".join(cells)}{labels}</div>'
        '<p class="quiz-legend"><span><i class="quiz-bar network"></i>network\'s probability</span>'
        '<span><i class="quiz-bar votes"></i>class\'s votes (striped)</span></p>'
    )


def _bars_summary(probabilities, votes):
    """The bars in words, for screen readers: every digit the network or the class gave at least 1%."""
    shown = [digit for digit in range(NUM_CLASSES) if probabilities[digit] >= 0.01 or votes[digit] >= 0.01]
    return "Network and class by digit: " + "; ".join(
        f"{digit}: network {probabilities[digit]:.0%}, class {votes[digit]:.0%}" for digit in shown
    )


def _share(right, total):
    return "–" if not total else f"{right / total:.0%}"


def result_html(view, personal):
    """The reveal in words, one HTML paragraph a line: the network's answer (class ``quiz-reveal``) and
    the true label, the share who got it right, the student's own score (``personal``), the class's share."""
    answer = view.network_answer
    truth = "? (a drawing)" if view.label is None else f"<b>{view.label}</b>"
    lines = [
        f'The network says <span class="quiz-reveal">{answer}</span> <span class="quiz-keep">({view.probabilities[answer]:.0%})'
        f'</span> <span class="quiz-keep">· truly {truth}</span>',
        f"<b>{_share(view.vote_counts[answer], view.vote_count)}</b> of the class guessed right "
        f"({view.vote_count} vote{'' if view.vote_count == 1 else 's'})",
    ]
    if view.ask_truth:
        lines.append(
            f"<b>{_share(view.truth_vote_counts[view.label], view.truth_vote_count)}</b> saw it really is a {view.label}"
            + ("" if not personal or view.my_truth_vote is None else
               f' · <span class="quiz-{"right" if view.my_truth_vote_right else "wrong"}">'
               f'{"✓" if view.my_truth_vote_right else "✗"} you said {view.my_truth_vote}</span>')
        )
    if personal:
        if view.my_vote is None:
            mine = "You did not vote this round."
        elif view.my_vote_right:
            mine = f'<span class="quiz-right">✓ You said {view.my_vote}: right!</span>'
        else:
            mine = f'<span class="quiz-wrong">✗ You said {view.my_vote}.</span>'
        right, voted = view.my_score
        lines.append(f"{mine} Your score: <b>{right} of {voted}</b>")
    right, total = view.class_score
    rounds = f"{view.rounds_revealed} round{'' if view.rounds_revealed == 1 else 's'}"
    lines.append(f"The class over {rounds}: <b>{_share(right, total)}</b> right")
    return [f'<p class="quiz-answer-line">{line}</p>' for line in lines]


def _title(view):
    question = "What will the network answer?" if not view.revealed else "The answer"
    st.markdown(
        f'<p class="quiz-title">Quiz · round <span class="quiz-round" data-version="{view.version}">{view.round_number}</span>'
        f" · {question}</p>",
        unsafe_allow_html=True,
    )


@st.cache_data(max_entries=32, show_spinner=False)
def _digit_source(pixels):
    # Inline, not st.image: a media file re-registered on every refresh of a fragment can show blank.
    return png_data_url(enlarge(np.frombuffer(pixels, np.uint8).reshape(28, 28), 8))


def _digit(view, width):
    with st.container(key="quiz-digit", width="content"):
        st.markdown(
            f'<img class="quiz-digit-image" src="{_digit_source(view.image.tobytes())}" alt="the quiz digit" '
            f'style="width:{width}px;height:{width}px">',
            unsafe_allow_html=True,
        )


def _vote_count(view):
    truth = f" ({view.truth_vote_count} on what it really is)" if view.ask_truth else ""
    st.markdown(
        f'<p class="quiz-count"><b class="quiz-vote-count">{view.vote_count}</b> vote{"" if view.vote_count == 1 else "s"}'
        f'{"" if view.revealed else " so far"}{truth}</p>',
        unsafe_allow_html=True,
    )


def _digit_buttons(view, question, chosen, key, button_key):
    with st.container(horizontal=True, wrap=True, key=key, gap=None):
        for digit in range(NUM_CLASSES):
            st.button(
                str(digit), key=f"{button_key}-{digit}", on_click=_vote, args=(digit, view.round_number, question), width=58,
                type="primary" if chosen == digit else "secondary",
            )


def _vote_buttons(view):
    """Ten buttons for the network question (keys ``quiz-vote-0`` … ``quiz-vote-9``), and ten more for
    "what digit is it really?" (``quiz-truth-0`` …) when the round asks it."""
    _digit_buttons(view, NETWORK, view.my_vote, "quiz-votes", "quiz-vote")
    if view.ask_truth:
        st.markdown('<p class="quiz-title">And what digit is it really?</p>', unsafe_allow_html=True)
        _digit_buttons(view, TRUTH, view.my_truth_vote, "quiz-truths", "quiz-truth")
    if view.my_vote is None:
        st.caption("Tap the digit you think the network will answer. You can change it until the reveal.")
    else:
        st.caption(f"Your guess: **{view.my_vote}**. You can change it until the teacher reveals the answer.")


def _result(view, personal, present):
    """The reveal; beside the digit all of it on a projector, only the network's answer on a phone."""
    lines = result_html(view, personal)
    beside, below = (lines, []) if present else (lines[:1], lines[1:])
    with st.container(key="quiz-result"):
        with st.container(horizontal=True, gap="small", vertical_alignment="center", wrap=False):
            _digit(view, 320 if present else 72)
            st.markdown("".join(beside), unsafe_allow_html=True)
        if below:
            st.markdown("".join(below), unsafe_allow_html=True)
        st.markdown(bars_html(view), unsafe_allow_html=True)
        if not personal:
            st.caption(f"The digit: {view.source}; the network: {view.model}.")


def _controls(view, present):
    """Reveal, next round (with where its digit comes from) and end: for whoever runs the quiz."""
    with st.container(horizontal=True, key="quiz-controls", vertical_alignment="bottom", gap="small", wrap=True):
        if view.round_number and not view.revealed:
            st.button("Reveal the answer", key="quiz-reveal-button", on_click=_reveal, type="primary", icon=":material/visibility:")
        if not present or view.revealed or not view.round_number:
            st.segmented_control("Ask about", (SOURCE_TEST, SOURCE_CLASS, SOURCE_DRAWING), default=SOURCE_TEST, key=_SOURCE_KEY,
                                 label_visibility="collapsed" if present else "visible")
            # Not asked about a drawing: its true digit is unknown.
            st.checkbox("Also ask: what digit is it really?", value=bool(st.session_state.get(_ASK_TRUTH_CHOICE)),
                        key=_ASK_TRUTH_KEY, on_change=_remember_ask_truth)
            st.button("Next round" if view.round_number else "Start the quiz", key="quiz-next-button", on_click=_new_round,
                      type="secondary" if view.round_number and not view.revealed else "primary", icon=":material/casino:")
        if view.round_number:
            st.button("End the quiz", key="quiz-end-button", on_click=_end, icon=":material/stop_circle:")
        if not present:
            # Only present=1: rights come from this browser's cookies, so the projector's address shows no token.
            st.link_button("Presenter view", f"?{PRESENT_PARAM}=1",
                           icon=":material/present_to_all:")


def _quiz_body(present):
    try:
        quiz = shared_quiz()
        may_control, host, _ = quiz_control()
        # This runs every second: a host whose page is open stays the host. Only while this browser may run the
        # quiz: a copied host cookie (or one kept after Lock or the end of the class) must change nothing.
        quiz.mark_host_seen(host if may_control else None)
        view = quiz.view(None if may_control or present else visitor_id())
    except QuizUnavailableError as error:  # the next refresh tries again
        carry_identity(key="identity-quiz")
        st.warning(str(error), icon=":material/cloud_off:")
        return
    if may_control:
        # Only the quiz's buttons for whoever runs it change an identity (the host token); a student's
        # screen, redrawn every second, is spared the three elements.
        carry_identity(key="identity-quiz")
    message = _message()
    with st.container(key="quiz-present" if present else "quiz-screen"):
        if message:
            st.warning(message)
        if not view.round_number:
            if may_control:
                with st.expander("Quiz: guess what the network says", icon=":material/quiz:", expanded=present):
                    st.caption("Every phone on this page shows a digit; the class guesses the network's answer, then you reveal it.")
                    _controls(view, present)
            else:
                st.caption("No quiz right now: when the teacher starts one, it appears here.")
            return
        _title(view)
        if view.revealed:
            _result(view, personal=not may_control and not present, present=present)
        elif present:
            digit_column, count_column = st.columns([1, 1], vertical_alignment="center")
            with digit_column:
                _digit(view, 720)
            with count_column:
                _vote_count(view)
                st.markdown('<p class="quiz-count">Vote on your phone: Class page</p>', unsafe_allow_html=True)
                join_card_ui(qr_width=240, text_size="1.6rem", page_path=CLASS_PATH, target_page=CLASS_PATH)
        else:
            _digit(view, 168)
            if may_control:
                _vote_count(view)
            else:
                _vote_buttons(view)
        if may_control:
            _controls(view, present)


def quiz_ui():
    """The quiz: the teacher's controls and the live vote count, or a student's digit and ten vote buttons.

    Call it at the top of the page, so a phone shows it first. In presenter view (``?present=1``) it
    fills the screen for a projector; the page should then show nothing else.
    """
    present = presenter_mode()
    use_styles(*(["quiz", "quiz-presenter-page"] if present else ["quiz"]))
    with st.container(key="quiz"):
        st.fragment(run_every=REFRESH_SECONDS)(_quiz_body)(present)
    if present:
        presenter_toggle()


def quiz_this_button(image, probabilities, label, source, model, key):
    """A "Quiz the class on this" button for whoever may run the quiz; starts a round and opens the Class page."""
    try:
        if not quiz_control()[0]:
            return
    except QuizUnavailableError:  # no button while the quiz's database is down
        return
    if st.button("Quiz the class on this", key=key, icon=":material/quiz:"):
        if start_round(image, probabilities, label, source, model):
            st.switch_page(CLASS_PAGE)
        text, _ = st.session_state.pop(_MESSAGE_KEY, ("The quiz refused this digit.", 0.0))
        st.warning(text)
