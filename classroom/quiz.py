"""The class quiz "Guess what the network says": one quiz per server, shared by every session.

A round shows one digit; every voter (a random id per browser session) guesses the network's answer
once, and may change the guess until the teacher reveals it. A round may also ask what the digit
really is (when its true label is known); only the network question counts towards the scores. The network's probabilities are fixed
when the round starts, so every student is shown the same answer. All state sits behind one lock:
the pages' threads call in at once. ``version`` grows with every change, so a page can tell whether
there is anything new to draw.
"""
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from mnist_cnn.data import NUM_CLASSES, as_digit, as_uint8_image

# With no teacher passcode, the visitor who started the quiz runs it; after this long without their
# page being open (a closed laptop), someone else may take over.
HOST_IDLE_SECONDS = 20 * 60
NETWORK, TRUTH = "network", "truth"  # the two questions: what will the network answer, what is the digit really


class QuizError(ValueError):
    """An action the quiz refuses; the message is meant for the page."""


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
        return int(np.argmax(self.probabilities))

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
    host_active: bool  # someone runs the quiz (with no passcode: a visitor who started it)
    ask_truth: bool = False
    my_truth_vote: int | None = None
    # Only once revealed:
    probabilities: np.ndarray | None = None
    network_answer: int | None = None
    label: int | None = None
    vote_counts: np.ndarray | None = None
    right_share: float | None = None  # of this round's votes, those equal to the network's answer
    truth_vote_count: int = 0
    truth_vote_counts: np.ndarray | None = None  # votes per digit on "what is it really?"

    @property
    def my_vote_right(self):
        return None if not self.revealed or self.my_vote is None else self.my_vote == self.network_answer

    @property
    def my_truth_vote_right(self):
        return None if not self.revealed or self.my_truth_vote is None else self.my_truth_vote == self.label


class Quiz:
    """The server's quiz: rounds, votes keyed by voter id, the reveal, scores and the class's share.

    Control (start a round, reveal, end) needs the host token of the visitor who started the quiz,
    or ``teacher=True`` from a caller that checked the teacher passcode itself.
    """

    def __init__(self, clock=time.monotonic, host_idle_seconds=HOST_IDLE_SECONDS):
        self._lock = threading.Lock()
        self._clock = clock
        self._host_idle_seconds = host_idle_seconds
        self._host = None
        self._host_seen = 0.0
        self._round = None
        self._scores = {}  # voter id -> [right, voted]
        self._class_score = [0, 0]
        self._rounds_revealed = 0
        self.version = 0

    # Control -------------------------------------------------------------------------------------

    def _host_active(self):
        return self._host is not None and self._clock() - self._host_seen < self._host_idle_seconds

    def may_control(self, host, teacher=False):
        """Whether a session with this host token (None: none) may start rounds, reveal and end."""
        with self._lock:
            return teacher or not self._host_active() or (host is not None and host == self._host)

    def mark_host_seen(self, host):
        """The page of the session holding ``host`` is open (it redraws every second): it stays the host."""
        with self._lock:
            if host is not None and host == self._host:
                self._host_seen = self._clock()

    def _check_control(self, host, teacher):
        if teacher or not self._host_active():
            if host is not None:
                self._host, self._host_seen = host, self._clock()
            return
        if host is None or host != self._host:
            raise QuizError("Only the teacher who started the quiz can run it.")
        self._host_seen = self._clock()

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
        with self._lock:
            self._check_control(host, teacher)
            number = 1 if self._round is None else self._round.number + 1
            image, probabilities = image.copy(), probabilities.copy()
            image.flags.writeable = probabilities.flags.writeable = False  # views share them: read-only
            self._round = Round(number, image, probabilities, label, source, model,
                                ask_truth=bool(ask_truth) and label is not None)
            self.version += 1
            return number

    def reveal(self, host=None, teacher=False):
        """Reveal the open round: the votes count towards the scores. Revealing twice changes nothing."""
        with self._lock:
            self._check_control(host, teacher)
            if self._round is None:
                raise QuizError("There is no round to reveal: start one first.")
            if self._round.revealed:
                return
            self._round.revealed = True
            answer = self._round.network_answer
            for voter, digit in self._round.votes.items():
                score = self._scores.setdefault(voter, [0, 0])
                score[0] += digit == answer
                score[1] += 1
                self._class_score[0] += digit == answer
                self._class_score[1] += 1
            self._rounds_revealed += 1
            self.version += 1

    def end(self, host=None, teacher=False):
        """End the quiz: rounds and scores are cleared and anyone may start a new one."""
        with self._lock:
            self._check_control(host, teacher)
            self._host, self._round = None, None
            self._scores, self._class_score, self._rounds_revealed = {}, [0, 0], 0
            self.version += 1

    # Votes ---------------------------------------------------------------------------------------

    def vote(self, voter, digit, round_number, question=NETWORK):
        """Record (or change) ``voter``'s guess in round ``round_number`` (the round their screen shows),
        to ``question``: :data:`NETWORK` (what will the network answer) or :data:`TRUTH` (what is it really)."""
        if not voter:
            raise QuizError("A vote needs a voter id.")
        if question not in (NETWORK, TRUTH):
            raise QuizError(f"No such question: {question!r}.")
        digit = as_digit(digit, "vote", QuizError)
        with self._lock:
            current = self._round
            if current is None:
                raise QuizError("There is no quiz round open right now.")
            if round_number != current.number:
                raise QuizError(f"Round {round_number} is over: this is round {current.number}. Vote again, please.")
            if current.revealed:
                raise QuizError("The answer has been revealed: votes are closed for this round.")
            if question == TRUTH and not current.ask_truth:
                raise QuizError("This round asks only what the network will answer.")
            votes = current.votes if question == NETWORK else current.truth_votes
            if votes.get(voter) != digit:
                votes[voter] = digit
                self.version += 1

    # Reading ---------------------------------------------------------------------------------------

    def view(self, voter=None):
        """A :class:`QuizView` for ``voter`` (None: the teacher's or the projector's view, no own vote)."""
        with self._lock:
            current = self._round
            score = tuple(self._scores.get(voter, (0, 0)))
            common = dict(
                version=self.version, my_score=score, class_score=tuple(self._class_score),
                rounds_revealed=self._rounds_revealed, host_active=self._host_active(),
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
                counts = current.vote_counts()
                answer = current.network_answer
                view.update(
                    probabilities=current.probabilities, network_answer=answer, label=current.label,
                    vote_counts=counts, right_share=counts[answer] / len(current.votes) if current.votes else None,
                )
                if current.ask_truth:
                    view["truth_vote_counts"] = current.vote_counts(TRUTH)
            return QuizView(**view)
