"""The demo shop page served at `/`, with the chat widget embedded as any customer site
would embed it, so a newcomer sees the product at once."""

from __future__ import annotations
