"""Calls: the call model, its state machine and (later) the service and API."""
