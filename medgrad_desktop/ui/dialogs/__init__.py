"""The windows opened on top of the main window: export, method parameters, preferences, the reviewer's
name, the override chooser and the follow-up comparison."""
