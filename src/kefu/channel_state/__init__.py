"""What the core keeps for channels and hands to connectors, so a connector never opens
a database session: its inbox as a frozen view (`inboxes`), and values every process
must share, such as an access token with its refresh lease (`shared`)."""
