"""A terminal progress bar for long commands (sweeps, sensitivity, figures, fits)."""

from __future__ import annotations

import sys

__all__ = ["ProgressBar"]


class ProgressBar:
    """A bar with an ETA on stderr when it is a terminal; silent otherwise (pipes, files, CI logs)."""

    def __init__(self, label: str) -> None:
        import time

        self._clock = time.monotonic
        self.label = label
        self.tty = sys.stderr.isatty()
        self.start = self._clock()

    def elapsed(self) -> float:
        return self._clock() - self.start

    def __call__(self, done: float, total: float, detail: str = "") -> None:
        if not self.tty:
            return
        eta = self.elapsed() / done * (total - done) if done else float("nan")
        bar = "#" * int(30 * done / max(total, 1e-9))
        print(f"\r{self.label} [{bar:<30s}] {detail} ETA {eta:5.0f} s", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.tty:
            print(file=sys.stderr)
