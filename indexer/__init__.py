"""Schema indexing: introspect a database, read its schema docs, enrich, embed and store in a vector store."""
