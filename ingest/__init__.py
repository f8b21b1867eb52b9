"""mgr-ingest: the pipeline, the store, the inbox service and the command line."""

from ingest.logsafe import install as _withhold_exception_messages_from_logs

_withhold_exception_messages_from_logs()
