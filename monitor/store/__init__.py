"""The state store's run tables: what each run did and found, and the run ledger.

`schema` holds their DDL; `state.StateStore` writes runs and metrics and answers the
named reads others need (the report, the JSON API, backtest, the scheduler), so no
other module writes SQL against these tables.
"""

from monitor.store.state import (
    BinSpec,
    LedgerMark,
    LedgerSpan,
    RunRecord,
    StateStore,
    naive_utc,
)

__all__ = ["BinSpec", "LedgerMark", "LedgerSpan", "RunRecord", "StateStore", "naive_utc"]
