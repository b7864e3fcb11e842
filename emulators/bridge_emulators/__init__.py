"""Local emulators of the systems the MHHS bridge talks to (ServiceNow, Jira Cloud) and a counting HTTP target.

Its own distribution, ``mhhs-bridge-emulators``: the bridge never imports it (``bridge demo`` and the tests start
the emulators as processes or import them directly), so the production image carries none of it.
"""
