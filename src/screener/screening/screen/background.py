"""Work the screen does in the background: retraining the ranking and the stopping rule's estimate,
so a keystroke never waits for either.
"""

from __future__ import annotations

from collections.abc import Callable

from .session import ScreenSession, estimate_for


def _take_newest(worker: StoppingInBackground | BackgroundRanking) -> tuple:
    """A background worker's next job: it says it is idle, waits for a request and takes the
    newest (older ones were replaced while it worked), then says it is busy."""
    with worker.lock:
        worker.busy = False
        worker.lock.notify_all()
        while worker.wanted is None:
            worker.lock.wait()
        wanted, worker.wanted = worker.wanted, None
        worker.busy = True
    return wanted


class StoppingInBackground:
    """The stopping rule, computed in a background thread after each change of the decisions:
    on 20,000 records it takes seconds, and a keystroke must not wait for it. The screen shows
    the latest estimate computed (at most a decision or two behind, said so), and is drawn
    again when a newer one arrives (`news`)."""

    def __init__(self, hold: bool = False) -> None:
        import threading

        self.lock = threading.Condition()
        self.hold = hold  # start no thread until release(): the first drawing comes first
        self.busy = False
        self.thread: threading.Thread | None = None
        self.wanted: tuple | None = None  # ScreenSession.stopping_input()
        self.asked: tuple | None = None
        self.result = None  # (the input it is for, LiveEstimate)
        self.failed = ""
        self.fresh = False  # a result not drawn yet

    def latest(self, session: ScreenSession):  # noqa: ANN201 - LiveEstimate | None
        if self.hold and self.result is None:
            return None  # the first drawing: nothing computed yet, and the input costs 0.1 s
        wanted = session.stopping_input()
        if wanted is None:
            return None
        if wanted != self.asked:
            self.asked = wanted
            self._request(wanted)
        result = self.result
        self.fresh = False
        return result[1] if result is not None else None

    def release(self, session: ScreenSession | None = None) -> None:
        """Start: the estimate asked for while held, or `session`'s (the first drawing asks
        for none: see `latest`)."""
        with self.lock:
            self.hold = False
        if self.wanted is not None:
            self._request(self.wanted)
        elif session is not None:
            self.latest(session)

    def behind(self) -> bool:
        result = self.result
        return result is not None and result[0] != self.asked

    def news(self) -> bool:
        return self.fresh

    def _request(self, wanted: tuple) -> None:
        import threading

        with self.lock:
            self.wanted = wanted
            self.lock.notify_all()
            if self.failed or self.hold or self.thread is not None:
                return
            self.thread = threading.Thread(target=self._work, daemon=True)
            self.thread.start()

    def _work(self) -> None:
        while True:
            wanted = _take_newest(self)
            try:
                self.result = (wanted, estimate_for(wanted))
            except Exception as exc:  # noqa: BLE001 - an aid: screening goes on without it
                with self.lock:
                    self.failed = f"the stopping rule failed ({type(exc).__name__}: {exc})"
                    self.busy = False
                    self.lock.notify_all()
                return
            self.fresh = True

    def wait(self) -> None:
        with self.lock:
            while self.thread is not None and not self.failed and (self.busy or self.wanted is not None):
                self.lock.wait()



class BackgroundRanking:
    """Retrains in a background thread, so the next record never waits for the model.

    After each decision the next record comes from the latest ranking already computed (at
    most one decision behind), and a new training starts on every decision so far. Only rows
    still waiting are reordered; the record on screen never changes under the reviewer.

    Ranking is an aid: when the model cannot rank these records, or its training fails, the
    records keep their order and the reviewer is told once, in the session's message line; a
    decision is never held up or lost for it, and no traceback reaches the screen.

    `build` makes the ranker in the thread too (reading the records' features takes seconds on
    a large review): the screen starts at once, in the order it has, and the ranking applies
    from the first decision after it is ready.
    """

    def __init__(self, ranker=None, build: Callable[[], object] | None = None) -> None:  # noqa: ANN001
        import threading

        self.ranker = ranker
        self.build = build
        # One worker for the session: starting a thread per decision made the key loop wait
        # for the new thread to be scheduled.
        self.lock = threading.Condition()
        self.position = None  # rank position of every row in the latest ranking
        self.applied = None  # the ranking the queue was last put in the order of
        self.thread = None
        self.wanted = None  # (labelled rows, labels) waiting to be trained on
        self.busy = False  # the worker is building or training
        self.failed = ""  # why ranking stopped, once it has
        self.told = False  # the reviewer has seen the notice or the failure

    def __call__(self, session: ScreenSession) -> None:
        """Apply the latest ranking to the queue, then train on the decisions so far."""
        self.apply(session)
        self.request(session)

    def request(self, session: ScreenSession) -> None:
        import threading

        row_of = session.row_of
        # Plain lists: numpy is imported by the thread, never on the way to the next record.
        labelled = [row_of[rid] for rid in session.done]
        y = [int(d.includes) for d in session.done.values()]
        with self.lock:
            if self.failed:
                return
            self.wanted = (labelled, y)  # the worker takes the newest request when it is free
            self.lock.notify_all()
            if self.thread is None:
                self.thread = threading.Thread(target=self._work, daemon=True)
                self.thread.start()

    def preparing(self) -> bool:
        """The model is still being built (its features read): the order is the one it had."""
        return self.ranker is None and self.thread is not None and not self.failed

    def _stop(self, exc: Exception) -> None:
        from ...errors import ScreenerError

        # A ScreenerError is written for people (a damaged weights file: what to reinstall); any
        # other is named by its type, for a bug report.
        said = f"{exc}; {exc.hint}" if isinstance(exc, ScreenerError) and exc.hint else str(exc)
        if not isinstance(exc, ScreenerError):
            said = f"{type(exc).__name__}: {said}"
        with self.lock:
            self.failed = f"ranking stopped ({said}); the order stays as it is"
            self.busy = False
            self.wanted = None
            self.lock.notify_all()

    def _work(self) -> None:
        import numpy as np

        if self.ranker is None:
            try:
                with self.lock:
                    self.busy = True
                self.ranker = self.build()
            except Exception as exc:  # noqa: BLE001 - see the class docstring
                return self._stop(exc)
        while True:
            wanted = _take_newest(self)
            try:
                self.ranker.fit(np.array(wanted[0], dtype=np.int64), np.array(wanted[1], dtype=int))
            except Exception as exc:  # noqa: BLE001 - see the class docstring
                return self._stop(exc)
            if self.ranker.fitted:
                order = np.argsort(-self.ranker.scores, kind="stable")
                position = np.empty(len(order), dtype=np.int64)
                position[order] = np.arange(len(order))
                self.position = position

    def wait(self) -> None:
        """For tests: until every request so far is trained on (or ranking stopped)."""
        with self.lock:
            while self.thread is not None and not self.failed and (self.busy or self.wanted is not None):
                self.lock.wait()

    def ranked_ids(self, session: ScreenSession) -> list[str] | None:
        """Every record id in the latest ranking's order (None before the first ranking)."""
        position = self.position
        if position is None:
            return None
        import numpy as np

        return [session.records[k].id for k in np.argsort(position, kind="stable")]

    def apply(self, session: ScreenSession) -> None:
        notice = self.failed or (getattr(self.ranker, "notice", "") if self.ranker is not None else "")
        if notice and not self.told:
            self.told = True
            session.message = f"{session.message}; {notice}" if session.message else notice
        position = self.position
        if position is None or not session.queue or position is self.applied:
            return  # nothing new: the queue is in this ranking's order already
        self.applied = position
        import numpy as np

        row_of = session.row_of
        waiting = [rid for rid in session.queue if rid not in session.skipped]
        rows = np.array([row_of[rid] for rid in waiting], dtype=np.int64)
        ordered = [waiting[k] for k in np.argsort(position[rows], kind="stable")]
        skipped = [rid for rid in session.queue if rid in session.skipped]
        session.queue = session.waiting_first(ordered) + skipped

