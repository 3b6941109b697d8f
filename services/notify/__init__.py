"""notify: the response clock of each incident against its office's service standard,
warnings before a breach, the breach itself, and webhooks that tell people about them."""
