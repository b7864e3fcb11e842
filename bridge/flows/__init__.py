"""Flows with business meaning, one module each; `bridge/engine/flows.py` names them in its registry."""
