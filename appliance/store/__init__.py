"""The durable store: the only truth about every message (docs/architecture.md, The store's rules)."""
