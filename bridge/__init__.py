"""The bridge: ServiceNow integration middleware and sync daemon for the MHHS cross-party service desk."""

__version__ = "0.1.0"
