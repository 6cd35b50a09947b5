"""A self-signed certificate for 127.0.0.1, made by openssl, for the HTTPS tests."""

import subprocess
from pathlib import Path


def make_certificate(directory: Path, name: str = "server") -> tuple[Path, Path]:
    """The certificate and its unencrypted key, as PEM files in ``directory``."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key
