"""Visitors of a site that embeds the chat widget: who they are (anonymous, or the host
site's verified user), what they told us (pre-chat form, custom attributes), the pages
they saw, and which conversations they may read. The web connector verifies tokens and
speaks HTTP; the rows live here."""
