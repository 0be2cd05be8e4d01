"""The class quiz "Guess what the network says": one quiz per room, shared by every session in it.

A round shows one digit; every voter (a random id per browser) guesses the network's answer once,
and may change the guess until the teacher reveals it. A round may also ask what the digit really is
(when its true label is known); only the network question counts towards the scores. The network's
probabilities are fixed when the round starts, so every student is shown the same answer.

Everything lives in the class set's database (tables ``quiz_state``, ``quiz_rounds``, ``quiz_votes``, each
row keyed by its room), so several server processes on one database show one quiz per room and a restart
keeps it; a room's quiz never reads or changes another's rows. A room's ``quiz_state`` row is made by its
first change (until then the room has no quiz). Every change takes the room's ``quiz_state`` row's lock
(SQLite's write lock) and bumps its ``version``; every screen redraws the
quiz once a second, so each process keeps a copy of the rounds and votes and re-reads them only when
the version moved (one small query otherwise).
"""
import contextlib
import threading
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import sqlalchemy as sa

from classroom.class_set import (
    DEFAULT_ROOM,
    QUIZ_ROUNDS,
    QUIZ_STATE,
    QUIZ_VOTES,
    STUDENT_ID_LENGTH,
    ClassSetUnavailableError,
    dialect_insert,
    room_code,
)
from mnist_cnn.data import IMAGE_SHAPE, NUM_CLASSES, as_digit, as_uint8_image

# With no teacher passcode, the visitor who started the quiz runs it; after this long without their
# page being open (a closed laptop), someone else may take over.
HOST_IDLE_SECONDS = 20 * 60
NETWORK, TRUTH = "network", "truth"  # the two questions: what will the network answer, what is the digit really
# The host's page redraws every second; its last-seen time is written at most this often.
HOST_SEEN_WRITE_SECONDS = 10.0
UNAVAILABLE_MESSAGE = ("The quiz is paused: its database cannot be reached or is busy right now. "
                       "It comes back by itself; try again in a moment.")
PROBABILITIES_DTYPE = np.dtype("<f8")  # how quiz_rounds.probabilities keeps them


class QuizError(ValueError):
    """An action the quiz refuses; the message is meant for the page."""


class QuizUnavailableError(QuizError):
    """The quiz's database cannot be reached or is busy; the message is meant for the page."""


@dataclass
class Round:
    """One question: the digit shown, where it came from, its true label (None when unknown, e.g. a
    drawing) and the network's probabilities, fixed when the round started."""

    number: int
    image: np.ndarray  # 28 x 28 uint8, 0 = background
    probabilities: np.ndarray  # (10,) float
    label: int | None
    source: str
    model: str  # which model answers, in words
    ask_truth: bool = False  # also ask "what digit is it really?" (only with a known label)
    votes: dict = field(default_factory=dict)  # voter id -> digit, the network question
    truth_votes: dict = field(default_factory=dict)  # voter id -> digit, "what digit is it really?"
    revealed: bool = False

    @property
    def network_answer(self):
        return _answer(self.probabilities)

    def vote_counts(self, question=NETWORK):
        votes = self.votes if question == NETWORK else self.truth_votes
        return np.bincount(np.fromiter(votes.values(), int, len(votes)), minlength=NUM_CLASSES)


@dataclass(frozen=True)
class QuizView:
    """What one voter may see now: the reveal's fields are None until the teacher reveals."""

    version: int
    round_number: int  # 0 before the first round
    image: np.ndarray | None
    source: str
    model: str
    vote_count: int
    my_vote: int | None
    revealed: bool
    my_score: tuple  # (rounds right, rounds voted), over revealed rounds
    class_score: tuple  # (votes right, votes), over revealed rounds
    rounds_revealed: int
    ask_truth: bool = False
    my_truth_vote: int | None = None
    # Only once revealed:
    probabilities: np.ndarray | None = None
    network_answer: int | None = None
    label: int | None = None
    vote_counts: np.ndarray | None = None
    truth_vote_count: int = 0
    truth_vote_counts: np.ndarray | None = None  # votes per digit on "what is it really?"

    @property
    def my_vote_right(self):
        return None if not self.revealed or self.my_vote is None else self.my_vote == self.network_answer

    @property
    def my_truth_vote_right(self):
        return None if not self.revealed or self.my_truth_vote is None else self.my_truth_vote == self.label




@dataclass(frozen=True)
class _State:
    """A room's quiz_state row; :data:`_NO_QUIZ` for a room whose quiz never started."""

    round_number: int
    version: int
    host: str | None
    host_seen: float


_NO_QUIZ = _State(round_number=0, version=0, host=None, host_seen=0.0)


@dataclass(frozen=True)
class _Copy:
    """This process's copy of the quiz's rounds and votes, as the database had them at ``version``."""

    version: int
    round: Round | None  # the open round, None before the first
    scores: dict  # voter id -> (right, voted), over revealed rounds
    class_score: tuple  # (votes right, votes), over revealed rounds
    rounds_revealed: int


class Quiz:
    """The quiz of ``room`` (a join code; DEFAULT_ROOM: the class without a room) kept in ``database`` (a
    :class:`~classroom.class_set.ClassSet`): rounds, votes keyed by voter id, the reveal, scores and the class's share.

    Control (start a round, reveal, end) needs the host token of the visitor who started the quiz,
    or ``teacher=True`` from a caller that checked the teacher passcode itself. ``clock`` tells wall-clock
    seconds: processes compare the host's last-seen time. Database failures raise :class:`QuizUnavailableError`.
    """

    def __init__(self, database, room=DEFAULT_ROOM, clock=time.time, host_idle_seconds=HOST_IDLE_SECONDS):
        self._database = database
        self.room = room_code(room)
        self._clock = clock
        self._host_idle_seconds = host_idle_seconds
        self._copy = None
        self._copy_lock = threading.Lock()  # one thread re-reads a changed quiz, the others wait for its copy

    @contextlib.contextmanager
    def _transaction(self, writes=False):
        try:
            with self._database.transaction(writes) as connection:
                yield connection
        except ClassSetUnavailableError as error:
            raise QuizUnavailableError(UNAVAILABLE_MESSAGE) from error

    def _read_state(self):
        with self._transaction() as connection:
            return self._state(connection)

    @property
    def version(self):
        """Grows with every change a screen shows."""
        return self._read_state().version

    # Control -------------------------------------------------------------------------------------

    def _host_active(self, state):
        return state.host is not None and self._clock() - state.host_seen < self._host_idle_seconds

    def may_control(self, host, teacher=False):
        """Whether a session with this host token (None: none) may start rounds, reveal and end."""
        if teacher:
            return True
        state = self._read_state()
        return not self._host_active(state) or (host is not None and host == state.host)

    def mark_host_seen(self, host):
        """The page of the session holding ``host`` is open (it redraws every second): it stays the host."""
        if host is None:
            return
        now = self._clock()
        state = self._read_state()
        if host != state.host or now - state.host_seen < HOST_SEEN_WRITE_SECONDS:
            return
        with self._transaction(writes=True) as connection:
            connection.execute(QUIZ_STATE.update().where(self._in_room(QUIZ_STATE), QUIZ_STATE.c.host == host).values(host_seen=now))

    def _control(self, state, host, teacher):
        """The host's columns after a control action by ``host``; QuizError when someone else runs the quiz."""
        if teacher or not self._host_active(state):
            return {} if host is None else {"host": host, "host_seen": self._clock()}
        if host is None or host != state.host:
            raise QuizError("Only the teacher who started the quiz can run it.")
        return {"host_seen": self._clock()}

    def start_round(self, image, probabilities, label=None, source="a test digit", model="", host=None, teacher=False,
                    ask_truth=False):
        """Open a new round on ``image`` (28 x 28, uint8 or floats in [0, 1]); returns its number.

        ``ask_truth``: also ask what the digit really is (ignored without a ``label``). An open round
        that was never revealed is dropped (nobody scores it).
        """
        image = as_uint8_image(image, QuizError)
        probabilities = np.asarray(probabilities, dtype=float).reshape(-1)
        if probabilities.shape != (NUM_CLASSES,) or not np.isfinite(probabilities).all():
            raise QuizError("The network's answer must be ten probabilities.")
        label = None if label is None else as_digit(label, "true label", QuizError)
        with self._transaction(writes=True) as connection:
            state = self._state(connection, for_update=True)
            host_columns = self._control(state, host, teacher)
            number = state.round_number + 1
            connection.execute(QUIZ_ROUNDS.insert().values(
                room=self.room, number=number, image=image.tobytes(), probabilities=probabilities.astype(PROBABILITIES_DTYPE).tobytes(),
                label=label, source=str(source), model=str(model), ask_truth=bool(ask_truth) and label is not None,
                revealed=False, created_at=self._clock(),
            ))
            self._save_state(connection, round_number=number, **host_columns)
        return number

    def reveal(self, host=None, teacher=False):
        """Reveal the open round: the votes count towards the scores. Revealing twice changes nothing."""
        with self._transaction(writes=True) as connection:
            state = self._state(connection, for_update=True)
            host_columns = self._control(state, host, teacher)
            revealed = connection.execute(
                sa.select(QUIZ_ROUNDS.c.revealed).where(self._round(state.round_number))
            ).scalar_one_or_none()
            if revealed is None:
                raise QuizError("There is no round to reveal: start one first.")
            if revealed:
                self._save_state(connection, new_version=False, **host_columns)
                return
            connection.execute(QUIZ_ROUNDS.update().where(self._round(state.round_number)).values(revealed=True))
            self._save_state(connection, **host_columns)

    def end(self, host=None, teacher=False):
        """End the quiz: rounds and scores are cleared and anyone may start a new one."""
        with self._transaction(writes=True) as connection:
            self._control(self._state(connection, for_update=True), host, teacher)
            connection.execute(QUIZ_VOTES.delete().where(self._in_room(QUIZ_VOTES)))
            connection.execute(QUIZ_ROUNDS.delete().where(self._in_room(QUIZ_ROUNDS)))
            self._save_state(connection, round_number=0, host=None, host_seen=0.0)

    # Votes ---------------------------------------------------------------------------------------

    def vote(self, voter, digit, round_number, question=NETWORK):
        """Record (or change) ``voter``'s guess in round ``round_number`` (the round their screen shows),
        to ``question``: :data:`NETWORK` (what will the network answer) or :data:`TRUTH` (what is it really)."""
        if not isinstance(voter, str) or not 0 < len(voter) <= STUDENT_ID_LENGTH:
            raise QuizError(f"A vote needs a voter id of 1 to {STUDENT_ID_LENGTH} characters.")
        if question not in (NETWORK, TRUTH):
            raise QuizError(f"No such question: {question!r}.")
        digit = as_digit(digit, "vote", QuizError)
        with self._transaction(writes=True) as connection:
            state = self._state(connection, for_update=True)  # a reveal waits for this vote, or this vote for the reveal
            current = connection.execute(
                sa.select(QUIZ_ROUNDS.c.revealed, QUIZ_ROUNDS.c.ask_truth).where(self._round(state.round_number))
            ).one_or_none()
            if current is None:
                raise QuizError("There is no quiz round open right now.")
            if round_number != state.round_number:
                raise QuizError(f"Round {round_number} is over: this is round {state.round_number}. Vote again, please.")
            if current.revealed:
                raise QuizError("The answer has been revealed: votes are closed for this round.")
            if question == TRUTH and not current.ask_truth:
                raise QuizError("This round asks only what the network will answer.")
            if self._upsert_vote(connection, state.round_number, question, voter, digit):
                self._save_state(connection)

    # Reading ---------------------------------------------------------------------------------------

    def _current_copy(self, version):
        """This process's copy of the rounds and votes, re-read only when the database's ``version`` moved past it."""
        copy = self._copy
        if copy is not None and copy.version >= version:
            return copy
        with self._copy_lock:
            if self._copy is None or self._copy.version < version:
                self._copy = self._read_copy()
            return self._copy

    def _read_copy(self):
        with self._transaction() as connection:
            state = self._state(connection)  # first: what follows is at least this new
            row = connection.execute(sa.select(QUIZ_ROUNDS).where(self._round(state.round_number))).one_or_none()
            votes = connection.execute(
                sa.select(QUIZ_VOTES.c.question, QUIZ_VOTES.c.voter, QUIZ_VOTES.c.digit)
                .where(self._in_room(QUIZ_VOTES), QUIZ_VOTES.c.round_number == state.round_number)
            ).all()
            answers = {
                number: _answer(_probabilities(stored))
                for number, stored in connection.execute(
                    sa.select(QUIZ_ROUNDS.c.number, QUIZ_ROUNDS.c.probabilities).where(self._in_room(QUIZ_ROUNDS), QUIZ_ROUNDS.c.revealed)
                ).all()
            }
            scores = self._scores(connection, answers)
        class_score = (sum(right for right, _ in scores.values()), sum(voted for _, voted in scores.values()))
        return _Copy(state.version, None if row is None else _round(row, votes), scores, class_score, len(answers))

    def view(self, voter=None):
        """A :class:`QuizView` for ``voter`` (None: the teacher's or the projector's view, no own vote)."""
        state = self._read_state()
        copy = self._current_copy(state.version)
        current = copy.round
        common = dict(
            version=copy.version, my_score=copy.scores.get(voter, (0, 0)), class_score=copy.class_score,
            rounds_revealed=copy.rounds_revealed,
        )
        if current is None:
            return QuizView(round_number=0, image=None, source="", model="", vote_count=0, my_vote=None,
                            revealed=False, **common)
        view = dict(
            round_number=current.number, image=current.image, source=current.source, model=current.model,
            vote_count=len(current.votes), my_vote=current.votes.get(voter), revealed=current.revealed,
            ask_truth=current.ask_truth, my_truth_vote=current.truth_votes.get(voter),
            truth_vote_count=len(current.truth_votes), **common,
        )
        if current.revealed:
            view.update(
                probabilities=current.probabilities, network_answer=current.network_answer, label=current.label,
                vote_counts=current.vote_counts(),
            )
            if current.ask_truth:
                view["truth_vote_counts"] = current.vote_counts(TRUTH)
        return QuizView(**view)


    # The database (every statement keeps to this room's rows) ----------------------------------------

    def _in_room(self, table):
        return table.c.room == self.room

    def _round(self, number):
        return sa.and_(self._in_room(QUIZ_ROUNDS), QUIZ_ROUNDS.c.number == number)

    def _state(self, connection, for_update=False):
        """The room's quiz_state row (:data:`_NO_QUIZ` before its first change); ``for_update``: made if missing
        and locked until the transaction ends (SQLite's write lock does that already)."""
        query = sa.select(QUIZ_STATE.c.round_number, QUIZ_STATE.c.version, QUIZ_STATE.c.host, QUIZ_STATE.c.host_seen)
        query = query.where(self._in_room(QUIZ_STATE))
        if for_update:
            connection.execute(  # one statement: two servers starting a room's quiz at once make one row
                dialect_insert(connection, QUIZ_STATE).values(room=self.room, **asdict(_NO_QUIZ)).on_conflict_do_nothing()
            )
            query = query.with_for_update()
        row = connection.execute(query).one_or_none()
        return _NO_QUIZ if row is None else _State(*row)

    def _save_state(self, connection, new_version=True, **columns):
        """Write quiz_state's ``columns``, with the version one up (every screen redraws) unless not ``new_version``."""
        if new_version:
            columns["version"] = QUIZ_STATE.c.version + 1
        if columns:
            connection.execute(QUIZ_STATE.update().where(self._in_room(QUIZ_STATE)).values(**columns))

    def _upsert_vote(self, connection, round_number, question, voter, digit):
        """Insert the vote, or change the voter's earlier one; True when that changed anything."""
        statement = dialect_insert(connection, QUIZ_VOTES).values(
            room=self.room, round_number=round_number, question=question, voter=voter, digit=digit
        )
        statement = statement.on_conflict_do_update(
            index_elements=[column.name for column in QUIZ_VOTES.primary_key],
            set_={"digit": statement.excluded.digit}, where=QUIZ_VOTES.c.digit != statement.excluded.digit,
        )
        # A row comes back when the vote went in or changed (not rowcount: psycopg reports -1 for an upsert).
        return connection.execute(statement.returning(QUIZ_VOTES.c.digit)).first() is not None

    def _scores(self, connection, answers):
        """voter id -> (right, voted) over the revealed rounds, network question; ``answers``: round number -> the network's answer."""
        if not answers:
            return {}
        right = sa.case((QUIZ_VOTES.c.digit == sa.case(answers, value=QUIZ_VOTES.c.round_number), 1), else_=0)
        rows = connection.execute(
            sa.select(QUIZ_VOTES.c.voter, sa.func.sum(right), sa.func.count())
            .where(self._in_room(QUIZ_VOTES), QUIZ_VOTES.c.question == NETWORK, QUIZ_VOTES.c.round_number.in_(answers))
            .group_by(QUIZ_VOTES.c.voter)
        ).all()
        return {voter: (int(right_count), int(voted)) for voter, right_count, voted in rows}


def _answer(probabilities):
    return int(np.argmax(probabilities))


def _probabilities(stored):
    return np.frombuffer(stored, PROBABILITIES_DTYPE)  # read-only: every view shares it


def _round(row, votes):
    """A :class:`Round` from its quiz_rounds row and its (question, voter, digit) votes."""
    by_question = {NETWORK: {}, TRUTH: {}}
    for question, voter, digit in votes:
        by_question[question][voter] = int(digit)
    return Round(
        row.number, np.frombuffer(row.image, np.uint8).reshape(IMAGE_SHAPE), _probabilities(row.probabilities), row.label,
        row.source, row.model, ask_truth=bool(row.ask_truth), votes=by_question[NETWORK], truth_votes=by_question[TRUTH],
        revealed=bool(row.revealed),
    )
