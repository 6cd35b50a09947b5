"""The durable store: the only truth about every message (see DESIGN.md, principle 2)."""
