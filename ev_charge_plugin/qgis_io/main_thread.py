"""Work a task's thread hands to the main thread, and waits for, without making a Qt call itself.

PyQt holds Python's lock through its calls into Qt. A worker thread making such
calls (creating a network reply, connecting its signals, starting timers) can
deadlock with the main thread deleting a Python-made widget at that moment, or
be handed that widget's dying wrapper. So the worker only puts the work on a
queue and waits on a Python event; a timer in the main thread takes it up.
"""
import queue
import threading

from qgis.PyQt.QtCore import QObject, QTimer

PUMP_MS = 20  # how often the main thread looks for work from tasks' threads

_pending = queue.SimpleQueue()
_pump = None


class NotTakenUp(Exception):
    """The main thread did not take the work up in time (it was busy, or is not serving)."""


def in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def serving() -> bool:
    """True once :func:`serve_tasks` has run (the plugin's Processing provider calls it when loaded)."""
    return _pump is not None


def run_in_main_thread(begin, wait_to_start: float):
    """Have the main thread call ``begin(done)``; return the value it hands to ``done(value, error)``, or raise ``error``.

    ``begin`` starts the work, which ends (then or later, from the main
    thread's event loop) by calling ``done`` once. If the main thread has not
    taken the work up within ``wait_to_start`` seconds, it is withdrawn and
    :class:`NotTakenUp` raised; once started, it is waited for to its end.
    """
    ended = threading.Event()
    lock = threading.Lock()
    outcome = {}

    def done(value, error):
        outcome.update(value=value, error=error)
        ended.set()

    def take_up():
        with lock:
            if outcome.get("withdrawn"):
                return
            outcome["started"] = True
        try:
            begin(done)
        except Exception as error:  # handed to the waiting thread, which raises it
            done(None, error)

    _pending.put(take_up)
    if not ended.wait(wait_to_start):
        with lock:
            if not outcome.get("started"):
                outcome["withdrawn"] = True
                raise NotTakenUp()
        ended.wait()
    if outcome["error"] is not None:
        raise outcome["error"]
    return outcome["value"]


class _Pump(QObject):
    def __init__(self):
        super().__init__()
        self.timer = QTimer(self)
        self.timer.setInterval(PUMP_MS)
        self.timer.timeout.connect(self.take_up)
        self.timer.start()

    def take_up(self) -> None:
        while True:
            try:
                work = _pending.get_nowait()
            except queue.Empty:
                return
            work()


def serve_tasks() -> None:
    """From the main thread: take up the work tasks' threads hand over, from now on."""
    global _pump
    if _pump is None:
        _pump = _Pump()


def stop_serving_tasks() -> None:
    """Stop taking work up; work still queued is withdrawn by the thread waiting for it."""
    global _pump
    if _pump is not None:
        _pump.timer.stop()
        _pump.deleteLater()
        _pump = None
