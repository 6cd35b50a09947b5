"""The simulated modem's message storages (SM, ME, SR): numbered slots holding PDUs.

A real modem keeps received messages, written drafts and stored status reports in fixed
size storages addressed by slot index; what AT+CPMS/CMGL/CMGR/CMGD/CMGW show is this
store. Indexes start at the profile's first index (SIM800: 1, most others: 0) and a new
message takes the lowest free slot, as on the modules docs/modems.md §4 describes. The store
survives reboots (the SIM and the module's flash are non-volatile).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["MemoryFull", "MessageStore", "Stat", "Storage", "StoredMessage"]


class Stat(enum.IntEnum):
    """27.005 <stat> in PDU mode (text mode names them "REC UNREAD", ...)."""

    REC_UNREAD = 0
    REC_READ = 1
    STO_UNSENT = 2
    STO_SENT = 3

    @property
    def text(self) -> str:
        return self.name.replace("_", " ")


# What AT+CMGD=<index>,<delflag> deletes, by delflag (1-4); 0 deletes only <index>.
DELETE_FLAGS: dict[int, frozenset[Stat]] = {
    1: frozenset({Stat.REC_READ}),
    2: frozenset({Stat.REC_READ, Stat.STO_SENT}),
    3: frozenset({Stat.REC_READ, Stat.STO_SENT, Stat.STO_UNSENT}),
    4: frozenset(Stat),
}


class MemoryFull(Exception):
    """The storage has no free slot (+CMS ERROR: 322; incoming SMS are not stored)."""


@dataclass
class StoredMessage:
    stat: Stat
    pdu: str  # upper-case hex, SMSC part included
    length: int  # TPDU octets (what +CMGL/+CMGR show as <length>)


class Storage:
    """One storage: ``size`` slots numbered from ``first_index``."""

    def __init__(self, name: str, size: int, first_index: int) -> None:
        self.name = name
        self.size = size
        self.first_index = first_index
        self._slots: dict[int, StoredMessage] = {}

    @property
    def used(self) -> int:
        return len(self._slots)

    @property
    def full(self) -> bool:
        return len(self._slots) >= self.size

    def in_range(self, index: int) -> bool:
        return self.first_index <= index < self.first_index + self.size

    def put(self, message: StoredMessage) -> int:
        """Store in the lowest free slot; return its index or raise :class:`MemoryFull`."""
        for index in range(self.first_index, self.first_index + self.size):
            if index not in self._slots:
                self._slots[index] = message
                return index
        raise MemoryFull(self.name)

    def get(self, index: int) -> StoredMessage | None:
        return self._slots.get(index)

    def delete(self, index: int) -> None:
        self._slots.pop(index, None)

    def delete_stats(self, stats: frozenset[Stat]) -> None:
        for index in [i for i, m in self._slots.items() if m.stat in stats]:
            del self._slots[index]

    def messages(
        self, stats: frozenset[Stat] = frozenset(Stat)
    ) -> Iterator[tuple[int, StoredMessage]]:
        """The messages with a stat in ``stats``, by index."""
        for index in sorted(self._slots):
            if self._slots[index].stat in stats:
                yield index, self._slots[index]


class MessageStore:
    """Every storage of one modem, by name."""

    def __init__(self, storages: tuple[tuple[str, int], ...], first_index: int) -> None:
        self._storages = {name: Storage(name, size, first_index) for name, size in storages}

    def __getitem__(self, name: str) -> Storage:
        return self._storages[name]

    def __contains__(self, name: object) -> bool:
        return name in self._storages
