"""Where a finished video goes: probing it, object storage, signed webhooks."""
