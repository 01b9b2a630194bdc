"""The audit log: who did what to which object, from where and when, for every admin,
role, inbox, routing, knowledge and data-export action. Recorded in one place (an ASGI
middleware reading one table of routes, `catalogue.py`), so no controller can forget."""
