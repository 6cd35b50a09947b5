"""One transaction for what belongs together: joined, not nested.

peewee's ``atomic()`` inside a transaction opens a SAVEPOINT: two more statements, and a
uuid for its name. On the sender's path the outcome of a send, the next claim and its
parts are written in one transaction (docs/architecture.md), and each helper's own
``atomic()`` nested in it cost about eight statements a message (bench/RESULTS.md, issue
15's part). A block with nothing to undo on its own joins the transaction it is in; a block
that must be undone alone (the dispatch after a send, which must not take the send's
outcome with it) still uses ``atomic()``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import peewee


def transaction(database: peewee.Database) -> AbstractContextManager[object]:
    """A transaction of its own at the top; inside one, that one."""
    return nullcontext() if database.in_transaction() else database.atomic()
