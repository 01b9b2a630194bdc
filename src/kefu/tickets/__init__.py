"""Tickets: follow-up work that outlives a conversation, with departments (skill groups),
SLA clocks counted on business hours, and a progress page the customer can follow."""
