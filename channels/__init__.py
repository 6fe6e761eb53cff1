"""One module per channel; each renders a question its own way and owns its inbound webhooks."""
