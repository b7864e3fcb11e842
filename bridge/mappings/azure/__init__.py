"""Azure Monitor alert -> ServiceNow incident: parsing, mapping, priority and lifecycle, all pure.

The public names live in :mod:`bridge.mappings.azure_alert`; the modules here are its parts.
"""
