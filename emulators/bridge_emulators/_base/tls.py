"""TLS for the emulators, for clients that insist on https (pysnc refuses an http:// instance URL).

A throwaway certificate authority (trustme, made for exactly this) issues a certificate for 127.0.0.1 and
localhost; the client trusts the CA's PEM file (``emulator.ca_path``) and keeps verifying, as it must.
"""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path

import trustme


class LocalTLS:
    """A CA and a server certificate for the loopback names, with the CA written to a PEM file."""

    def __init__(self) -> None:
        self._ca = trustme.CA()
        self._cert = self._ca.issue_cert("127.0.0.1", "localhost", "::1")
        self._dir = tempfile.TemporaryDirectory(prefix="emulator-tls-")
        self.ca_path = Path(self._dir.name) / "ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_path))

    def server_context(self) -> ssl.SSLContext:
        """The context a listening socket is wrapped with."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._cert.configure_cert(context)
        return context

    def close(self) -> None:
        """Remove the CA file."""
        self._dir.cleanup()
