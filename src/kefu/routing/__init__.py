"""Routing: rules decide who serves a conversation, ACD strategies decide which agent,
and a durable queue in the database holds the rest. `rules`, `hours` and `acd` are pure;
`service` is the database shell; `api` holds the HTTP controllers."""
