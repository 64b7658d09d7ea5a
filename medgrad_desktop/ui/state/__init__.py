"""The app's state without a widget: `AppModel` (the folder, its images, the chosen method, target and
parameters, the review store with undo) and what it is made of (`FolderImage`, `TargetChoice`, caches,
the settings file, review commands, the bridge to the project store). Views follow its signals.

Nothing here imports `widgets` or `dialogs` (an import-linter contract in pyproject.toml)."""
