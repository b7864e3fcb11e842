"""Plumbing shared by the local emulators (ServiceNow, Jira): everything but the emulated API itself.

:mod:`.messages` holds the transport-free request and response, :mod:`.faults` the fault knobs, the seeded
fault draw and the rate limiter, :mod:`.stats` the request counters, :mod:`.server` the threaded HTTP/1.1
server with the socket-level faults, :mod:`.emulator` the start/stop lifecycle and :mod:`.cli` the
run-until-signalled loop and the command-line options both emulators take.
"""
