"""The demo database shipped with ragsql: a telecom network-performance DB and its schema docs."""
