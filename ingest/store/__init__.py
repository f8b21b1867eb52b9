"""The store: deliveries, raw rows, findings, corrections and the audit log in a database.

SQLite by default (``WORK/mgr.sqlite``), PostgreSQL when ``MGR_DB_URL`` or ``--db`` names
one; the original files are kept byte for byte in ``WORK/archive/`` by their sha256.

    from ingest.store import open_store, import_paths, rebuild_clean, add_correction

    with open_store("mgr-work") as store:
        run = import_paths(store, ["deliveries/"])
        add_correction(store, "K2697", 12, "FORNAVN", "Niels", who="anna", why="scan p. 3")
        table = rebuild_clean(store, "KBF")          # one frame, for small stores
        write_rebuilt(store, "tables/")              # kbf.parquet …, streamed batch by batch

How a record is keyed, and why a correction survives a re-delivery, is explained in
``ingest.store.corrections``.
"""

from ingest.store.clean import Rebuilt, RebuiltFiles, rebuild, rebuild_clean, write_rebuilt
from ingest.store.corrections import CorrectionRefused, add_correction
from ingest.store.database import Store, StoreError, StoreFull, StoreUnavailable, open_store
from ingest.store.importer import ImportRun, Outcome, import_paths
from ingest.store.lock import LockHeld, WorkLock
from ingest.store.status import overview

__all__ = [
    "CorrectionRefused", "ImportRun", "LockHeld", "Outcome", "Rebuilt", "RebuiltFiles", "Store", "StoreError",
    "StoreFull", "StoreUnavailable", "WorkLock", "add_correction", "import_paths", "open_store", "overview",
    "rebuild", "rebuild_clean", "write_rebuilt",
]
