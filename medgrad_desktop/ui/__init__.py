"""The Qt desktop app. `app_model.AppModel` holds the state and performs the actions (no widgets);
the views (`browser`, `viewer_area`, `prediction_panel`, `target_picker`, `status_bar`, `actions`)
show it and follow its signals; `main_window` wires them; `map_controller` and `predictions` turn
requests into jobs of `worker.ModelWorker`, the one mechanism for slow work.

Everything model-related goes through `medgrad_desktop.core`. Only this package and
`medgrad_desktop.testing` import Qt.
"""
