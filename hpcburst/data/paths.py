"""Remote locations as users type them: ``CONTAINER/PATH`` (e.g. ``hpc-data/inputs/rates.csv``).

The parsing rules live in the pure core (``hpcburst.domain.staging``) so task specs and the CLI agree.
"""

from __future__ import annotations

from hpcburst.domain.staging import BLOB_EXAMPLE, BlobLocation, parse_location

__all__ = ["BLOB_EXAMPLE", "BlobLocation", "parse_location"]
