"""ragsql service: settings, database access, SQL validation, the question-to-answer pipeline."""
