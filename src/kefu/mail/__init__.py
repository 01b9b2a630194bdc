"""What the core keeps for e-mail inboxes, so the e-mail connector never opens a session:
per-folder IMAP cursors (UIDVALIDITY and the last UID committed), every Message-ID stored
or sent with its thread, and the mails that failed or were set aside, with the reason."""
