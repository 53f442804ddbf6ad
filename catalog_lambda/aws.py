"""The process's one botocore session: the AWS clients the domain builds come from it.

A botocore session loads and caches botocore's data (endpoints, partitions, service
models) as clients need it, and a second session loads it all again: tens of ms on a
cold start. PynamoDB would build a session of its own per connection and boto3 its
default one, so both are pointed here (:func:`catalog_lambda.dynamo.shared_connection`,
:func:`boto3_session`).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import boto3
    from botocore.session import Session

# botocore does not support creating clients from one session on several threads at once.
CLIENT_CREATION = threading.Lock()


@lru_cache(maxsize=1)
def botocore_session() -> Session:
    from botocore.session import get_session

    return get_session()


def boto3_session() -> boto3.session.Session:
    """A boto3 session over the shared botocore session (imports boto3: write paths only)."""
    import boto3

    return boto3.session.Session(botocore_session=botocore_session())
