"""Reader studies: the study file, the plan, the store, the reading session, the exports, the CLI."""
