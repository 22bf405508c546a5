"""Returns engine: the RMA state machine, its postings (refund, credit memo) and dispositions."""
