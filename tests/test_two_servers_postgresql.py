"""The two-server lesson of tests/test_two_servers.py on PostgreSQL, where a separate worker process trains."""
import pytest
from test_two_servers import two_servers_share_a_lesson

pytestmark = pytest.mark.browser


def test_two_servers_and_a_worker_share_a_lesson_and_a_killed_worker_loses_nothing(browser, tmp_path, mnist_npz_path, postgres_url):
    two_servers_share_a_lesson(browser, tmp_path, "postgresql", postgres_url)
