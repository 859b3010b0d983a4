"""Reading keys from a real terminal: raw mode, escape sequences to key names, resizes.
"""

from __future__ import annotations

from collections.abc import Callable

from ...errors import ScreenerError


def require_terminal(command: str, hint: str) -> None:
    """Interactive commands read single keystrokes: without a terminal on standard input (a
    pipe, /dev/null, a CI job) they stop before any work, in one line, instead of failing in
    the terminal library or taking a pipe's bytes for decisions."""
    import sys

    try:
        interactive = sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):  # closed or replaced
        interactive = False
    if not interactive:
        raise ScreenerError(f"'{command}' needs an interactive terminal (its input is not one)", hint=hint)



# Escape sequences of the keys the screen uses (xterm and its kin).
SEQUENCES = {
    "\x1b[5~": "pgup",
    "\x1b[6~": "pgdn",
    "\x1b[A": "up",
    "\x1b[B": "down",
    "\x1bOA": "up",
    "\x1bOB": "down",
    "\x1b": "esc",
    "\r": "enter",
    "\n": "enter",
}



def key_name(typed: str) -> str:
    """A key as the loops know it: the character, or a name for a sequence (pgdn, up, enter)."""
    return SEQUENCES.get(typed, typed if not typed.startswith("\x1b") else "")



class _Resized(Exception):
    """The terminal changed size while a key was awaited: draw again."""



class KeyReader:
    """Single keystrokes from the terminal, without losing keys typed ahead.

    click.getchar switches the terminal to raw mode for each key and discards what was typed
    meanwhile (TCSAFLUSH); a fast reviewer would lose decisions. Here the terminal stays in
    cbreak mode for the whole session and is switched back only for line prompts. A change of
    the terminal's size (SIGWINCH) while waiting for a key returns "resize", so the screen is
    drawn again at the new size.
    """

    def __init__(self) -> None:
        import sys

        self.stream = sys.stdin
        self.fd = self.stream.fileno() if self.stream.isatty() else None
        self.saved = None
        self.waiting = False
        self.old_handler = None
        self.old_stop_handler = None
        self.redraw = False  # back from Ctrl-Z while not waiting for a key: draw again
        # Asked while no key comes: something changed that the screen should show (draw again).
        self.news: Callable[[], bool] | None = None

    def __enter__(self) -> KeyReader:
        if self.fd is not None:
            import signal
            import termios
            import threading
            import tty

            self.saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd, termios.TCSANOW)
            if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGWINCH"):
                self.old_handler = signal.signal(signal.SIGWINCH, self._resized)
                if hasattr(signal, "SIGTSTP"):
                    self.old_stop_handler = signal.signal(signal.SIGTSTP, self._suspended)
        return self

    def _resized(self, signum: int, frame: object) -> None:
        if self.waiting:
            raise _Resized

    def _suspended(self, signum: int, frame: object) -> None:
        """Ctrl-Z: the terminal as it was for the shell, stop; on `fg`, cbreak mode again and
        the screen drawn again (the shell may have changed the terminal meanwhile)."""
        import os
        import signal
        import termios
        import tty

        termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)  # stopped here until SIGCONT
        signal.signal(signal.SIGTSTP, self._suspended)
        tty.setcbreak(self.fd, termios.TCSANOW)
        if self.waiting:
            raise _Resized
        self.redraw = True

    def discard_typed(self) -> bool:
        """Drop the keys typed before now (before the first record was on screen: none of
        them can be a decision on it); whether there were any."""
        if self.fd is None:
            return False
        import select
        import termios

        typed = bool(select.select([self.fd], [], [], 0)[0])
        termios.tcflush(self.fd, termios.TCIFLUSH)
        return typed

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None and self.saved is not None:
            import signal
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
            if self.old_handler is not None:
                signal.signal(signal.SIGWINCH, self.old_handler)
            if self.old_stop_handler is not None:
                signal.signal(signal.SIGTSTP, self.old_stop_handler)

    def getchar(self) -> str:
        if self.fd is None:
            char = self.stream.read(1)
            return key_name(char) if char else "q"  # end of input: quit
        if self.redraw:
            self.redraw = False
            return "resize"
        self.waiting = True
        try:
            data = self._read()
        except _Resized:
            return "resize"
        finally:
            self.waiting = False
        return data

    def _read(self) -> str:
        import os
        import select

        while self.news is not None and not select.select([self.fd], [], [], 0.1)[0]:
            if self.news():
                return "resize"
        data = os.read(self.fd, 1)
        if not data:
            return "q"
        if data == b"\x1b":  # a key that sends a sequence, or Esc alone
            while len(data) < 8 and select.select([self.fd], [], [], 0.03)[0]:
                data += os.read(self.fd, 1)
                if data[-1:].isalpha() or data.endswith(b"~"):
                    break
            return key_name(data.decode("utf-8", "replace"))
        while True:  # a multi-byte UTF-8 character
            try:
                return key_name(data.decode("utf-8"))
            except UnicodeDecodeError:
                if len(data) >= 4:
                    return ""
                data += os.read(self.fd, 1)

    def prompt(self, text: str) -> str:
        """A line of text, typed in the terminal's normal mode, on the bottom line."""
        import sys

        sys.stdout.write("\r\x1b[2K")  # over the key list: nothing scrolls before Enter
        sys.stdout.flush()
        if self.fd is not None and self.saved is not None:
            import termios
            import tty

            termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)
            try:
                return input(f"{text}: ")
            except EOFError:
                return ""
            finally:
                tty.setcbreak(self.fd, termios.TCSANOW)
        return input(f"{text}: ")

