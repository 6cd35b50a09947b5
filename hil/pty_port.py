"""A pseudo-terminal that clients open like a serial port, optionally behind a symlink.

The link is the stable name clients use (a udev-style ``/dev/ttyGSM0``): when the port
vanishes and comes back (a USB modem re-enumerating) the new pty gets a new
``/dev/pts/N`` and the link is pointed at it.
"""

from __future__ import annotations

import os
import termios
import threading

__all__ = ["PtyPort", "make_raw"]


def make_raw(fd: int) -> None:
    """cfmakeraw(): no echo, no canonical mode, no CR/LF translation, 8 bits, 115200 Bd."""
    attrs = termios.tcgetattr(fd)
    iflag, oflag, cflag, lflag, _ispeed, _ospeed, cc = attrs
    iflag &= ~(
        termios.IGNBRK
        | termios.BRKINT
        | termios.PARMRK
        | termios.ISTRIP
        | termios.INLCR
        | termios.IGNCR
        | termios.ICRNL
        | termios.IXON
        | termios.IXOFF
    )
    oflag &= ~termios.OPOST
    lflag &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
    cflag &= ~(termios.CSIZE | termios.PARENB)
    cflag |= termios.CS8 | termios.CREAD | termios.CLOCAL
    cc = list(cc)
    cc[termios.VMIN] = 1
    cc[termios.VTIME] = 0
    speed = termios.B115200
    termios.tcsetattr(fd, termios.TCSANOW, [iflag, oflag, cflag, lflag, speed, speed, cc])


class PtyPort:
    """One pty at a time: :meth:`open` makes it (and points ``link`` at it), :meth:`close`
    removes it; clients that still hold the old slave then read EOF/EIO."""

    def __init__(self, link: str | os.PathLike[str] | None = None) -> None:
        self.link = os.path.abspath(os.fspath(link)) if link is not None else None
        self.master: int | None = None
        self._slave: int | None = None
        self.device: str | None = None  # /dev/pts/N of the open pty
        self.last_device: str | None = None  # kept after close(), for error messages

    @property
    def path(self) -> str:
        """What clients open: the link if there is one, else the pty slave."""
        if self.link is not None:
            return self.link
        if self.last_device is None:
            raise RuntimeError("the port was never opened")
        return self.last_device

    def open(self) -> None:
        if self.master is not None:
            raise RuntimeError("the port is already open")
        try:
            self.master, self._slave = os.openpty()
            # Raw on both sides before any client can open the slave; our own slave fd
            # stays open until close(), so clients closing the port never make the master
            # read EIO.
            make_raw(self._slave)
            make_raw(self.master)
            os.set_blocking(self.master, False)
            self.device = self.last_device = os.ttyname(self._slave)
            if self.link is not None:
                self._create_link()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Remove the link and the pty. Idempotent."""
        self._remove_link()
        for name in ("master", "_slave"):
            fd = getattr(self, name)
            if fd is not None:
                setattr(self, name, None)
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.device = None

    def _create_link(self) -> None:
        assert self.link is not None and self.device is not None
        if os.path.lexists(self.link) and not os.path.islink(self.link):
            raise FileExistsError(f"{self.link} exists and is not a symlink")
        temporary = f"{self.link}.{os.getpid()}.{threading.get_ident()}.tmp"
        os.symlink(self.device, temporary)
        os.replace(temporary, self.link)

    def _remove_link(self) -> None:
        if self.link is None or self.device is None:
            return
        try:
            if os.readlink(self.link) == self.device:
                os.unlink(self.link)
        except OSError:
            pass  # already gone or replaced by someone else: leave it
