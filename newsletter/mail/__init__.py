"""Mail: messages rendered from templates/email, a transactional outbox, and transports.

A request never talks to a mail server: it writes the rendered message into the outbox in
the same transaction as the change that caused it. Workers deliver from the outbox.
"""
