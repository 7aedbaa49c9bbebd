"""What happened, for people and programs: the data the daemon's JSON API serves (and
the HTML report will draw), read from the state store, never from raw rows."""
