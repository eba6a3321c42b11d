"""Call reports: the rules, drafts and report service, the Xelion call log, the exactly-once outbox."""
