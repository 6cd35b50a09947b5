"""The HTTP side: the Diafaan-compatible /http API now; JSON/CBOR and the status page later."""
