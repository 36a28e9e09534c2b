package bot

// MemLedger lets the external tests (package bot_test) use the in-memory ledger.
type MemLedger = memLedger
