"""ui.secrets.app_secrets: the host's secrets, read from Streamlit at most every few seconds."""
import streamlit as st

from ui import secrets as app_secrets_module
from ui.secrets import SECRETS_TTL_SECONDS, app_secrets


class CountingSecrets:
    """Stands in for st.secrets: counts the reads; ``None`` means no secrets file."""

    def __init__(self, values):
        self.values, self.reads = values, 0

    def to_dict(self):
        self.reads += 1
        if self.values is None:
            raise FileNotFoundError("No secrets found.")
        return dict(self.values)


def test_without_a_secrets_file_streamlit_is_asked_once_per_interval(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(app_secrets_module.time, "monotonic", lambda: clock[0])
    missing = CountingSecrets(None)
    monkeypatch.setattr(st, "secrets", missing)
    assert [app_secrets() for _ in range(50)] == [{}] * 50
    assert missing.reads == 1
    clock[0] += SECRETS_TTL_SECONDS + 0.1
    assert app_secrets() == {} and missing.reads == 2


def test_new_secrets_show_after_the_interval_and_a_swapped_source_at_once(monkeypatch):
    clock = [2000.0]
    monkeypatch.setattr(app_secrets_module.time, "monotonic", lambda: clock[0])
    source = CountingSecrets({"teacher_passcode": "old"})
    monkeypatch.setattr(st, "secrets", source)
    assert app_secrets()["teacher_passcode"] == "old"
    source.values = {"teacher_passcode": "new"}  # the host edits the secrets
    assert app_secrets()["teacher_passcode"] == "old"
    clock[0] += SECRETS_TTL_SECONDS + 0.1
    assert app_secrets()["teacher_passcode"] == "new"
    monkeypatch.setattr(st, "secrets", CountingSecrets({"teacher_passcode": "test"}))  # as AppTest does
    assert app_secrets()["teacher_passcode"] == "test"
