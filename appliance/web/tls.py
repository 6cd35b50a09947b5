"""The TLS context the HTTP server speaks HTTPS with, when ``[http] tls_cert`` and
``tls_key`` are set (on the appliance nginx terminates TLS instead: docs/security.md)."""

from __future__ import annotations

import ssl

from ..config.file import ConfigError


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """A server context for TLS 1.2 and later; every problem with the files is a
    ConfigError naming the setting, found at start-up rather than at the first client."""
    for path, setting, marker in ((cert, "http.tls_cert", b"-----BEGIN CERTIFICATE-----"),
                                  (key, "http.tls_key", b"PRIVATE KEY-----")):
        try:
            with open(path, "rb") as handle:
                content = handle.read()
        except OSError as error:
            raise ConfigError(setting, f"cannot read {path}: {error.strerror or error}") from None
        if marker not in content:
            kind = "certificate" if setting == "http.tls_cert" else "private key"
            raise ConfigError(setting, f"{path} holds no PEM {kind} ({marker.decode()!r} not found)")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_RENEGOTIATION | ssl.OP_NO_COMPRESSION

    def no_passphrase() -> bytes:
        raise ConfigError("http.tls_key", f"{key} is encrypted with a passphrase; the service starts "
                                          "unattended, so store the key unencrypted and readable only by it")
    try:
        context.load_cert_chain(cert, key, password=no_passphrase)
    except ssl.SSLError as error:
        if "KEY_VALUES_MISMATCH" in str(error):
            raise ConfigError("http.tls_key", f"{key} is not the private key of the certificate in {cert}") from None
        raise ConfigError("http.tls_cert", f"{cert} with the key {key} cannot be used: {error}") from None
    return context
