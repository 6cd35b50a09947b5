"""Talking to AT modems: the byte-level channel, the driver's state machine, its transports."""
