"""A progress display whose stored output is deterministic text.

In a Jupyter kernel, :class:`Progress` draws an HTML ``<progress>`` bar
and a line of text, redrawn in place through an IPython display handle
while the work runs.  When the work ends, the live display is emptied
and the final state is displayed once, as an output of its own: the
full bar and a summary with no timings or rates.  So a stored notebook
holds only text and HTML that every machine reproduces, nbval compares
it strictly, and a page needs no widget code to show it.

Why empty the live display: nbval records a display as first shown
(it ignores updates), nbclient stores it as last updated.  Both see an
empty output followed by the final one.

Outside a kernel the display is plain text: the running state is
redrawn on one line of stderr when that is a terminal, and the final
line is printed to stdout.
"""

import html
import sys
import time

__all__ = ["Progress"]


def _in_kernel():
    """True inside a Jupyter kernel (where displays can be updated)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return getattr(shell, "kernel", None) is not None


class Progress:
    """Count steps of long work and show how far it has come.

    Parameters
    ----------
    total : int
        Number of steps of the whole work (at least 1).
    label : str
        What is counted, e.g. ``"training"``.
    unit : str
        Name of one step, plural, e.g. ``"mini-batches"``.
    show : bool
        False: count silently (tests, inner loops).
    interval : float
        Least time in seconds between two redraws of the live display;
        it changes only what is drawn while running, never the final
        output.

    Examples
    --------
    >>> with Progress(3, "demo", "steps", show=False) as bar:
    ...     for k in range(3):
    ...         bar.update(text=f"step {k + 1} done")
    >>> bar.text()
    'demo: 3/3 steps, step 3 done'
    """

    def __init__(self, total, label="progress", unit="steps", show=True,
                 interval=0.1):
        if isinstance(total, bool) or not isinstance(total, int) \
                or total < 1:
            raise ValueError(f"total must be an int >= 1, got {total!r}")
        self.total, self.label, self.unit = total, label, unit
        self.done, self.status = 0, ""
        self.interval = interval
        self._shown = 0.0
        self._closed = False
        self._handle = None
        self._tty = False
        if show and _in_kernel():
            from IPython.display import display

            self._handle = display(self._empty(), raw=True,
                                   display_id=True)
        elif show:
            self._tty = sys.stderr.isatty()
        self._show = show

    def update(self, n=1, text=None):
        """Advance by ``n`` steps and, if given, set the status text."""
        self.done = min(self.done + n, self.total)
        if text is not None:
            self.status = text
        now = time.monotonic()
        if now - self._shown >= self.interval or self.done == self.total:
            self._shown = now
            self._redraw()

    def text(self):
        """The current state as one line of plain text."""
        line = f"{self.label}: {self.done}/{self.total} {self.unit}"
        return f"{line}, {self.status}" if self.status else line

    def html(self):
        """The current state as an HTML ``<progress>`` bar and its text."""
        label = html.escape(self.label, quote=True)
        return (f'<div class="cnnbp-progress"><progress value="{self.done}"'
                f' max="{self.total}" aria-label="{label}"></progress> '
                f"<span>{html.escape(self.text())}</span></div>")

    def close(self, text=None):
        """Show the final state once (only the first call does)."""
        if self._closed:
            return
        self._closed = True
        if text is not None:
            self.status = text
        if self._handle is not None:
            from IPython.display import display

            self._handle.update(self._empty(), raw=True)
            display(self._bundle(), raw=True)
        elif self._show:
            if self._tty:
                sys.stderr.write("\r\033[K")
                sys.stderr.flush()
            print(self.text())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _redraw(self):
        if self._handle is not None:
            self._handle.update(self._bundle(), raw=True)
        elif self._tty:
            sys.stderr.write("\r\033[K" + self.text())
            sys.stderr.flush()

    def _bundle(self):
        return {"text/html": self.html(), "text/plain": self.text()}

    @staticmethod
    def _empty():
        return {"text/html": "", "text/plain": ""}
