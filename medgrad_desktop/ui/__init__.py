"""The Qt desktop app, in folders by what they hold:

- `state/`: `AppModel`, the app's state and the actions a user takes on it, without a widget;
- `work/`: `ModelWorker`, the one mechanism for slow work, and the jobs it runs;
- `widgets/`: the views of the main window; some follow the model's signals, the others are pushed
  their data by the wiring (`main_window`, `map_controller`);
- `dialogs/`: the windows opened on top of it;
- `selftest/`: `main.py --self-test`.

At the top, the wiring: `launch` starts the GUI, `qt_application` makes the one QApplication,
`main_window` builds the views around one `AppModel` and one `ModelWorker`, `actions` and
`review_keys` connect menus and keys to the model, `map_controller` turns the shown image into map jobs
and draws their results.

Everything model-related goes through `medgrad_desktop.core`. Qt is imported by this package, by
`medgrad_desktop.testing` and, inside its drawing functions only, by the PDF writer
(`reports/pdf_writer.py`, `reports/pdf_canvas.py`).
"""
