"""moto's server, with DynamoDB's conditional writes made atomic, as they are on DynamoDB.

moto evaluates a write's condition and applies the write as separate steps, with no lock, while
its server answers requests on many threads: two `UpdateItem`s with the same condition can both
see it hold and both succeed. DynamoDB never allows that, and the project's guarantees rest on it
(the run lock, the version rule). Under load the suite saw it happen: two refresher runs holding
the run lock at once, refreshing the same rotating tokens twice. This launcher serialises moto's
item writes behind one lock, then starts the ordinary `moto_server` with the same arguments.

Used by the test harness (crates/testkit/src/moto.rs); run from the venv that has moto.
"""

import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_lock = threading.RLock()


def _atomic(method):
    @functools.wraps(method)
    def locked(*args, **kwargs):
        with _lock:
            return method(*args, **kwargs)

    return locked


for _name in _WRITES:
    if hasattr(DynamoDBBackend, _name):
        setattr(DynamoDBBackend, _name, _atomic(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
