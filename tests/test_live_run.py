"""The Train page's live section when a run starts or ends (ui/live_run.py): whoever controls the run sees the whole
page again at once; a student's page reruns in full at a moment of its own, so a class's pages do not all at once."""
import types

import streamlit as st
from streamlit.testing.v1 import AppTest

import ui.live_run as live_run


def live_part():
    """The live fragment's first step, as the Train page takes it: the run started or ended (``changed``)."""
    import streamlit as st

    from ui.live_run import rerun_when_due

    rerun_when_due(st.session_state.changed, at_once=lambda: st.session_state.controls_the_run)


def page(controls_the_run):
    app = AppTest.from_function(live_part)
    app.session_state.changed, app.session_state.controls_the_run = True, controls_the_run
    return app


def test_a_students_page_reruns_in_full_within_the_spread_and_the_teachers_at_once(monkeypatch):
    full_reruns = []
    clock = [1000.0]  # the page's own clock, so the test does not depend on how long a run of the page takes
    monkeypatch.setattr(st, "rerun", lambda *args, **kwargs: full_reruns.append(clock[0]))
    monkeypatch.setattr(live_run, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    monkeypatch.setattr(live_run, "random", types.SimpleNamespace(uniform=lambda low, high: high))  # the latest moment

    page(controls_the_run=True).run()
    assert full_reruns == [1000.0]  # the teacher: at once

    student = page(controls_the_run=False)
    student.run()
    clock[0] += live_run.RERUN_SPREAD_SECONDS - 0.01
    student.run()
    assert len(full_reruns) == 1  # not yet: the live part shows the run meanwhile
    clock[0] += 0.01
    student.run()
    assert len(full_reruns) == 2  # its moment has come
    student.session_state.changed = False  # the full run saw the change: nothing more to do
    student.run()
    assert len(full_reruns) == 2
