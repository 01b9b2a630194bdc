"""Quick replies: canned answers an agent inserts with `/shortcut`, with variables such
as {{contact.name}} filled from the conversation."""
