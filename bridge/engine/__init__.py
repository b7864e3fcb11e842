"""The sync engine: inbox -> route mapping -> outbox -> dispatcher -> adapters."""
