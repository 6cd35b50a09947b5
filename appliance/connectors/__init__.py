"""Where messages enter and leave for applications: the HTTP API, inboxes, webhooks."""
