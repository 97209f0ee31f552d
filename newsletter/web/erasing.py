"""What follows an erasure made by a request, once its transaction commits: no copy of
the deleted rows left in SQLite's WAL, and none of the address's mail in the mail folder.

Shared by the editors' erasure (``admin/subscriber_pages.py``) and the reader's own
"Erase me" (``web/manage.py``).
"""

from newsletter import db
from newsletter.mail import transports


def forget_copies_after_commit(address: str) -> None:
    """Once the request's erasure is committed, wipe the copies kept outside the tables."""
    db.after_commit(db.database().checkpoint)
    db.after_commit(lambda: transports.app_transport().forget(address))
