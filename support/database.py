"""Small helpers for tests that look into the app's database and use it from several threads at once."""
import threading

import sqlalchemy as sa


def query(url, sql):
    """The rows of one SQL query on the database at ``url``, on a connection of its own."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text(sql)).all()
    engine.dispose()
    return rows


def at_once(work, count):
    """Call ``work(0) … work(count - 1)`` in threads released together; the exceptions they raised."""
    start, errors = threading.Barrier(count), []

    def run(number):
        try:
            start.wait()
            work(number)
        except Exception as error:  # noqa: BLE001 - the caller asserts on them
            errors.append(error)

    threads = [threading.Thread(target=run, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
