"""An app behind nginx or HAProxy: TLS at the proxy, the app under /api/, two hosts of two workers, one Redis."""
