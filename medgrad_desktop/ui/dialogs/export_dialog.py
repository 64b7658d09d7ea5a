"""The app's export (Ctrl+E): the current image, the selection or the whole folder as a report.

The export runs as one job of the app's `ModelWorker` (its only mechanism for slow work), so the model is used from its own thread and the UI stays live; the dialog shows progress and
its Cancel button cancels the job between images. All writing goes through
`medgrad_desktop.reports.export_report`: all or nothing, de-identified unless unticked, and an
existing report is overwritten only after the user confirms.

Reports go where a user looks for documents: by default "MedGrad reports" in the documents folder, then
wherever the last report went, never inside the app's own install. With de-identification on, the
pseudonym key (IMG-0005 -> file name) is written by default to its own clearly named file beside the
report folder, never inside it, with a warning that it re-identifies the images. After an export,
"Open report" and "Show in folder" open them with the desktop's own applications, or say what to
install and where the file is when the desktop has none.

The dialog offers the last export's choices again (images, maps, formats; de-identification is always
offered on) and a file name that no report in the folder has yet, and estimates the time from this
session's measured maps (no figure before a map was made). Its choices scroll where the screen is short
(1024 x 640).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from datetime import date
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

import medgrad_desktop
from medgrad_desktop.core.card import RESEARCH_NOTICE
from medgrad_desktop.core.method_params import METHOD_NAMES, METHODS
from medgrad_desktop.reports import FORMATS, ReportOptions
from medgrad_desktop.reports.notes import INCLUDE_NOTES_RISK, SCRUBBED_KINDS, count_notes, left_out_text
from medgrad_desktop.reports.outputs import existing_outputs
from medgrad_desktop.reports.request import plan_report
from medgrad_desktop.resources_path import resources_dir
from medgrad_desktop.ui.state.app_model import AppModel
from medgrad_desktop.ui.state.folder_image import FolderImage
from medgrad_desktop.ui.state.settings import ExportChoices
from medgrad_desktop.ui.widgets.fitting_scroll import FittingScrollArea, fit_dialog
from medgrad_desktop.ui.work.timing import describe_duration
from medgrad_desktop.ui.work.worker import ModelWorker

FORMAT_LABELS = {"pdf": "PDF", "html": "HTML (self-contained)", "csv": "CSV", "png": "PNG overlays"}
SCOPES = ("current", "selection", "folder")
REPORTS_FOLDER = "MedGrad reports"
PRIVATE_REPORT_NOTE = (
    "Not de-identified: only your account can open it (files 0600; a folder made for it 0700)."
)
KEY_WARNING = (
    "The pseudonym key links IMG-0001… back to the file names (and R-01… to the reviewers' names): "
    "it re-identifies the images. Keep it private and never send it with the report."
)


def install_dirs() -> list[Path]:
    """Where the app itself lives (its package and bundled resources): no report is written there."""
    return [Path(medgrad_desktop.__file__).resolve().parent, resources_dir().resolve()]


def is_inside_install(path: Path) -> bool:
    p = Path(path).expanduser().resolve()
    return any(p == d or d in p.parents for d in install_dirs())


def default_export_dir(last: str) -> Path:
    """The folder the last report went to, unless that is inside the install; else 'MedGrad reports' in
    the user's documents folder (the home folder when the platform names none)."""
    if last and not is_inside_install(Path(last)):
        return Path(last)
    docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(docs or Path.home()) / REPORTS_FOLDER


def default_key_path(out_dir: Path, basename: str) -> Path:
    """The pseudonym key's file: beside the report folder (never in it), named for what it is."""
    return out_dir.parent / f"{out_dir.name} - {basename} - PSEUDONYM KEY (re-identifies, keep private).csv"


def free_report_name(out_dir: Path, base: str = "report", today: date | None = None) -> str:
    """`base` when no report (nor its pseudonym key) of that name is in `out_dir`, else `base` with the
    date, then with (2), (3)...: 'report 2026-12-06 (2)'. A new export never proposes to replace an
    earlier one; replacing stays possible by typing its name, after a confirmation."""

    def taken(name: str) -> bool:
        return bool(existing_outputs(out_dir, name, FORMATS, default_key_path(out_dir, name)))

    if not taken(base):
        return base
    dated = f"{base} {(today or date.today()).isoformat()}"
    n = 1
    name = dated
    while taken(name):
        n += 1
        name = f"{dated} ({n})"
    return name


def no_viewer_text(report: Path) -> str:
    """What to do when the desktop has no application for the report's kind of file."""
    if report.suffix == ".pdf":
        what, install = (
            "PDF files",
            "a PDF viewer (e.g. Okular or Evince on Linux, SumatraPDF or Adobe Acrobat Reader on Windows)",
        )
    elif report.suffix == ".html":
        what, install = "web pages", "a web browser (e.g. Firefox)"
    else:
        what, install = f"{report.suffix or 'these'} files", "an application for them"
    return (
        f"No application on this computer opens {what}, so the report was not opened. Install {install}, "
        f"or open the file yourself:\n{report}"
    )


class ExportDialog(QDialog):
    """Choose what and where; then `start()` submits the export job to `worker` and follows it.
    What can be exported (current image, selection, folder) and with which parameters, colormap and
    opacity comes from the app model."""

    def __init__(self, app: AppModel, worker: ModelWorker, parent: QWidget | None = None):
        super().__init__(parent)
        self.app = app
        self.worker = worker
        self.handle = None
        self.result = None  # ExportResult after success
        self.error_message = ""
        self.open_url = QDesktopServices.openUrl  # tests replace it to see the URL without opening anything
        self.setWindowTitle("Export report")
        self.setMinimumWidth(520)
        self._build()

    # ------------------------------------------------------------------ UI
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        content = QWidget()  # the choices: they scroll where the screen is too short for them
        lay = QVBoxLayout(content)
        lay.setContentsMargins(0, 0, 0, 0)
        remembered = self.app.settings.export_choices  # the last export's choices, offered again
        notice = QLabel(RESEARCH_NOTICE)
        notice.setStyleSheet("color:#a01010; font-weight:bold;")
        lay.addWidget(notice)
        model = self.app.model
        if model is not None and model.card.warnings():
            warn = QLabel("\n".join(model.card.warnings()))
            warn.setStyleSheet("background:#ffeccc; color:#963c00; font-weight:bold; padding:4px;")
            warn.setWordWrap(True)
            lay.addWidget(warn)

        scope_box = QGroupBox("Images")
        sl = QVBoxLayout(scope_box)
        self.scope_group = QButtonGroup(self)
        current = self.app.current_entry
        selected = self.app.selected_entries()
        n_folder = len(self.app.entries)
        self.scope_buttons = {
            "current": QRadioButton(f"Current image{f' ({current.name})' if current else ''}"),
            "selection": QRadioButton(f"Selected images ({len(selected)})"),
            "folder": QRadioButton(f"Whole folder ({n_folder})"),
        }
        self.scope_buttons["current"].setEnabled(current is not None)
        self.scope_buttons["selection"].setEnabled(len(selected) > 0)
        self.scope_buttons["folder"].setEnabled(n_folder > 0)
        for i, key in enumerate(SCOPES):
            self.scope_group.addButton(self.scope_buttons[key], i)
            sl.addWidget(self.scope_buttons[key])
        default = "selection" if len(selected) > 1 else "folder" if n_folder else "current"
        if remembered is not None and remembered.scope in SCOPES:
            default = remembered.scope if self.scope_buttons[remembered.scope].isEnabled() else default
        self.scope_buttons[default].setChecked(True)
        lay.addWidget(scope_box)

        what = QGroupBox("Contents")
        wl = QFormLayout(what)
        methods_row = QHBoxLayout()
        self.method_boxes = {}
        methods = set(remembered.methods if remembered is not None else ()) & set(METHODS)
        for m in METHODS:
            cb = QCheckBox(METHOD_NAMES[m])
            cb.setChecked(m in methods if methods else m == self.app.current_method)
            self.method_boxes[m] = cb
            methods_row.addWidget(cb)
        wl.addRow("Maps", methods_row)
        formats_row = QHBoxLayout()
        self.format_boxes = {}
        formats = set(remembered.formats if remembered is not None else ()) & set(FORMATS)
        for f in FORMATS:
            cb = QCheckBox(FORMAT_LABELS[f])
            cb.setChecked(f in (formats or ("pdf", "html", "csv")))
            self.format_boxes[f] = cb
            formats_row.addWidget(cb)
        wl.addRow("Formats", formats_row)
        lay.addWidget(what)

        where = QGroupBox("Output")
        fl = QFormLayout(where)
        self.dir_edit = QLineEdit(self._default_dir())
        row, _browse = _path_row(self.dir_edit, self._browse_dir)
        fl.addRow("Folder", row)
        self.name_edit = QLineEdit(free_report_name(self._out_dir()))
        self._name_typed = False  # the user chose the name: stop proposing one
        self.name_edit.textEdited.connect(lambda _t: setattr(self, "_name_typed", True))
        self.dir_edit.textChanged.connect(self._propose_name)
        fl.addRow("File name", self.name_edit)
        self.deid_box = QCheckBox("De-identify (pseudonyms; images re-encoded without EXIF/GPS)")
        # Always offered ticked, whatever was chosen last: a report that names patients must be asked for
        # each time, never inherited from the previous export.
        self.deid_box.setChecked(True)
        fl.addRow("", self.deid_box)
        self.private_note = QLabel(PRIVATE_REPORT_NOTE)  # shown while the report is not de-identified
        self.private_note.setWordWrap(True)
        self.private_note.setVisible(not self.deid_box.isChecked())
        self.deid_box.toggled.connect(lambda deid: self.private_note.setVisible(not deid))
        fl.addRow("", self.private_note)
        self.notes_box = QCheckBox("Include reviewers' notes, scrubbed: a note may still identify a patient")
        self.notes_box.setToolTip(f"Scrubbed of {SCRUBBED_KINDS}; {INCLUDE_NOTES_RISK}.")
        fl.addRow("", self.notes_box)
        self.notes_label = QLabel("")
        self.notes_label.setWordWrap(True)
        fl.addRow("", self.notes_label)
        self.key_box = QCheckBox("Write the pseudonym key (to find IMG-0005's file again)")
        self.key_box.setChecked(True)
        fl.addRow("", self.key_box)
        self.map_edit = QLineEdit()
        mrow, map_browse = _path_row(self.map_edit, self._browse_map)
        fl.addRow("Pseudonym key", mrow)
        self.key_warning = QLabel(f"⚠ {KEY_WARNING}")
        self.key_warning.setWordWrap(True)
        self.key_warning.setStyleSheet("color:#8c1d18;")
        fl.addRow("", self.key_warning)
        self._key_widgets = [self.key_box, self.map_edit, map_browse, self.key_warning]
        self.deid_box.toggled.connect(self._sync_key)
        self.deid_box.toggled.connect(self._sync_notes)
        self.notes_box.toggled.connect(self._sync_notes)
        self.scope_group.idToggled.connect(self._sync_notes)
        self.key_box.toggled.connect(self._sync_key)
        self.dir_edit.textChanged.connect(self._sync_key)
        self.name_edit.textChanged.connect(self._sync_key)
        lay.addWidget(where)
        self.options = FittingScrollArea(content)
        outer.addWidget(self.options, 1)
        self.estimate = QLabel("")  # "about 3 min", from this session's measured maps; else empty
        self.estimate.setStyleSheet("color:#5a6270;")
        outer.addWidget(self.estimate)
        self.scope_group.idToggled.connect(self._show_estimate)
        for cb in self.method_boxes.values():
            cb.toggled.connect(self._show_estimate)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.progress)
        outer.addWidget(self.status)

        self.buttons = QDialogButtonBox()
        self.open_button = self.buttons.addButton("Open report", QDialogButtonBox.ButtonRole.ActionRole)
        self.show_button = self.buttons.addButton("Show in folder", QDialogButtonBox.ButtonRole.ActionRole)
        self.open_button.clicked.connect(self.open_report)
        self.show_button.clicked.connect(self.show_in_folder)
        for b in (self.open_button, self.show_button):
            b.setEnabled(False)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.export_button.clicked.connect(self.start)
        self.close_button.clicked.connect(self.reject)
        outer.addWidget(self.buttons)
        self._sync_key()
        self._sync_notes()
        self._show_estimate()
        self.deid_box.toggled.connect(self._refit)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        fit_dialog(self)

    def _refit(self) -> None:
        """Grow (or shrink) to show a longer or shorter text whole, within the screen."""
        if self.isVisible():
            fit_dialog(self)

    def _out_dir(self) -> Path:
        return Path(self.dir_edit.text().strip() or ".").expanduser()

    def _propose_name(self) -> None:
        """A name no report in the chosen folder has, until the user types one."""
        if not self._name_typed:
            self.name_edit.setText(free_report_name(self._out_dir()))

    def _show_estimate(self) -> None:
        """How long the export should take, from this session's measured maps; nothing before a map
        was measured."""
        n, methods = len(self.chosen_entries()), len(self.chosen_methods())
        seconds = self.app.map_times.estimate(n, methods) if n and methods else None
        text = describe_duration(seconds)
        self.estimate.setText(
            f"Estimated time: {text} ({n} image{'s' if n != 1 else ''} × {methods} "
            f"map{'s' if methods != 1 else ''}, at this session's measured speed)"
            if text
            else ""
        )
        self.estimate.setVisible(bool(text))

    def _default_dir(self) -> str:
        return str(default_export_dir(self.app.settings.export_dir))

    def _sync_key(self) -> None:
        deid = self.deid_box.isChecked()
        for w in self._key_widgets:
            w.setEnabled(deid and (w is self.key_box or self.key_box.isChecked()))
        out = Path(self.dir_edit.text().strip() or ".").expanduser()
        self.map_edit.setPlaceholderText(
            str(default_key_path(out, self.name_edit.text().strip() or "report"))
        )

    def chosen_notes(self) -> int:
        """How many of the chosen images carry a reviewer's note."""
        store = self.app.review_store
        if store is None:
            return 0
        return count_notes(store.records, [e.sha256 for e in self.chosen_entries() if e.sha256])

    def _sync_notes(self) -> None:
        """Notes are a choice only in a de-identified report (a named one includes them); the label
        says how many are left out, or, when they are included, what that risks."""
        deid = self.deid_box.isChecked()
        self.notes_box.setEnabled(deid)
        n = self.chosen_notes()
        if not deid:
            text = ""
        elif self.notes_box.isChecked():
            text = f"⚠ {n} note{'s' if n != 1 else ''} included, scrubbed of {SCRUBBED_KINDS}; {INCLUDE_NOTES_RISK}."
        else:
            text = left_out_text(n) if n else ""
        self.notes_label.setText(text)
        self.notes_label.setStyleSheet("color:#8c1d18;" if deid and n else "")
        self._refit()

    def key_path(self, out: Path, name: str) -> Path | None:
        """Where the pseudonym key goes: the typed path, else the default beside the report; None when
        the report is not de-identified or the key is not wanted."""
        if not self.deid_box.isChecked() or not self.key_box.isChecked():
            return None
        typed = self.map_edit.text().strip()
        return Path(typed).expanduser() if typed else default_key_path(out, name)

    def report_file(self) -> Path | None:
        """The file "Open report" opens: the PDF, else the HTML, else the first file written."""
        outputs = self.result.outputs if self.result is not None else []
        for suffix in (".pdf", ".html"):
            for p in outputs:
                if p.suffix == suffix:
                    return p
        return outputs[0] if outputs else None

    def open_report(self) -> None:
        f = self.report_file()
        if f is not None and self.open_url(QUrl.fromLocalFile(str(f))) is False:
            self._no_application(no_viewer_text(f))

    def show_in_folder(self) -> None:
        f = self.report_file()
        if f is not None and self.open_url(QUrl.fromLocalFile(str(f.parent))) is False:
            self._no_application(
                f"No file manager could be started to show the report's folder. The report is in:\n{f.parent}"
            )

    def _no_application(self, text: str) -> QMessageBox:
        """Say that the desktop had no application for the report, what to install, and where it is
        (`open_url` returned False: QDesktopServices found none; a test's stand-in returning None
        counts as opened)."""
        box = QMessageBox(
            QMessageBox.Icon.Information, "Report not opened", text, QMessageBox.StandardButton.Ok, self
        )
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # non-blocking
        self.status.setText(text)
        self._refit()
        return box

    def _browse_dir(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Report folder", self.dir_edit.text())
        if d:
            self.dir_edit.setText(d)

    def _browse_map(self) -> None:
        f, _ = QFileDialog.getSaveFileName(
            self, "Pseudonym map", str(Path.home() / "pseudonym-map.csv"), "CSV (*.csv)"
        )
        if f:
            self.map_edit.setText(f)

    # ------------------------------------------------------------------ choices
    def scope(self) -> str:
        return SCOPES[self.scope_group.checkedId()]

    def set_scope(self, scope: str) -> None:
        self.scope_buttons[scope].setChecked(True)

    def chosen_entries(self) -> list[FolderImage]:
        scope = self.scope()
        if scope == "current":
            e = self.app.current_entry
            return [e] if e is not None else []
        return list(self.app.selected_entries() if scope == "selection" else self.app.entries)

    def chosen_paths(self) -> list[Path]:
        return [e.path for e in self.chosen_entries()]

    def chosen_methods(self) -> list[str]:
        return [m for m, cb in self.method_boxes.items() if cb.isChecked()]

    def chosen_formats(self) -> list[str]:
        return [f for f, cb in self.format_boxes.items() if cb.isChecked()]

    def confirm_overwrite(self, paths: list[Path]) -> bool:
        """Ask before replacing an existing report (tests replace this method)."""
        names = "\n".join(str(p) for p in paths[:8])
        answer = QMessageBox.question(
            self,
            "Replace the existing report?",
            f"These already exist and would be replaced:\n{names}",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _fail(self, message: str) -> None:
        self.error_message = message
        self.status.setText(message)
        self.status.setStyleSheet("color:#a01010;")
        self._refit()

    # ------------------------------------------------------------------ running
    def start(self) -> bool:
        """Validate, confirm any overwrite, and submit the export job. True when a job was started."""
        if self.handle is not None and not self.handle.is_finished:
            return False
        self.status.setStyleSheet("")
        paths, methods, formats = self.chosen_paths(), self.chosen_methods(), self.chosen_formats()
        out_text, name = self.dir_edit.text().strip(), self.name_edit.text().strip() or "report"
        if self.app.model is None:
            self._fail("No model is loaded yet; wait for it or choose weights in Preferences.")
            return False
        if not paths:
            self._fail("No images to export: open a folder or select images first.")
            return False
        if not methods or not formats:
            self._fail("Choose at least one map method and one format.")
            return False
        if not out_text:
            self._fail("Choose an output folder.")
            return False
        if any(c in name for c in "/\\:") or name.startswith("."):
            self._fail(f"'{name}' is not a usable file name.")
            return False
        out = Path(out_text).expanduser()
        if is_inside_install(out):
            self._fail(
                f"{out} is inside the app's own files; choose a folder of your own, e.g. "
                f"{default_export_dir('')}."
            )
            return False
        params = [self.app.params[m] for m in methods]
        options = ReportOptions(
            deidentify=self.deid_box.isChecked(),
            colormap=self.app.colormap,
            opacity=self.app.opacity,
            overlay_alpha=self.app.overlay_alpha,
            include_notes=self.notes_box.isChecked(),
            stability=self.app.settings.show_stability,  # the maps' stability, as the app shows it
        )
        try:  # patients, lesions and visits, order and privacy: planned as `medgrad report` plans them
            request = plan_report(
                paths,
                self.app.current_folder,
                params,
                out,
                options=options,
                formats=formats,
                basename=name,
                pseudonym_map=self.key_path(out, name),
            )
        except ValueError as exc:  # SidecarError included
            self._fail(str(exc))
            return False
        clash = request.existing_outputs()
        if clash:
            if not self.confirm_overwrite(clash):
                self.status.setText("Not exported: the existing report was kept.")
                return False
            request = dataclasses.replace(request, force=True)
        store = self.app.review_store

        def job(ctx):
            if ctx.model is None:
                raise RuntimeError("no model is loaded")
            return ctx.compute.export_report(
                request,
                ctx.model,
                reviews=store,
                progress=lambda done, total, _msg: ctx.progress(done, total),
                checkpoint=ctx.checkpoint,
            )

        self.app.settings.export_dir = str(out)
        self.app.settings.export_choices = ExportChoices(
            self.scope(), tuple(methods), tuple(formats), self.deid_box.isChecked()
        )
        self.result, self.error_message = None, ""
        self.handle = self.worker.submit(job, kind="export", total=request.steps)
        self.handle.progress.connect(self._on_progress)
        self.handle.result.connect(self._on_result)
        self.handle.error.connect(self._on_error)
        self.handle.cancelled.connect(self._on_cancelled)
        self.handle.finished.connect(self._on_finished)
        self.progress.setRange(0, request.steps)
        self.progress.setValue(0)
        self.status.setText(f"Exporting {len(paths)} image{'s' if len(paths) != 1 else ''}…")
        self.export_button.setEnabled(False)
        self.close_button.setText("Cancel")
        return True

    @property
    def running(self) -> bool:
        return self.handle is not None and not self.handle.is_finished

    def cancel(self) -> None:
        if self.running:
            self.handle.cancel()
            self.status.setText("Cancelling after the current image…")

    def reject(self) -> None:
        """Close, or while exporting: cancel (the dialog stays until the job has stopped)."""
        if self.running:
            self.cancel()
            return
        super().reject()

    def _on_progress(self, done: int, total: int, eta: float) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        left = f" · about {eta:.0f} s left" if not math.isnan(eta) and done < total else ""
        self.status.setText(f"Exporting: step {done} of {total}{left}")

    def _on_result(self, result) -> None:
        self.result = result
        lines = [
            f"Wrote {len(result.outputs)} file{'s' if len(result.outputs) != 1 else ''} to "
            f"{result.outputs[0].parent if result.outputs else ''}:"
        ]
        lines += [f"  {p.name}" for p in result.outputs]
        if result.content.notes_left_out:
            lines.append(left_out_text(result.content.notes_left_out))
        if result.pseudonym_map:
            lines.append(f"Pseudonym key: {result.pseudonym_map}")
            lines.append(f"⚠ {KEY_WARNING}")
        if result.errors:
            lines.append(f"{len(result.errors)} image(s) could not be read and are listed as errors:")
            lines += [f"  {e}" for e in result.errors[:10]]
        self.status.setText("\n".join(lines))
        self.progress.setValue(self.progress.maximum())
        for b in (self.open_button, self.show_button):
            b.setEnabled(self.report_file() is not None)
        self.open_button.setDefault(True)
        self._refit()

    def _on_error(self, message: str) -> None:
        self._fail(f"Export failed, nothing was written: {message}")

    def _on_cancelled(self) -> None:
        self.status.setText("Export cancelled; nothing was written.")
        self.progress.setValue(0)

    def _on_finished(self) -> None:
        self.export_button.setEnabled(True)
        self.close_button.setText("Close")


def run_export_dialog(app: AppModel, worker: ModelWorker, parent: QWidget | None = None) -> ExportDialog:
    """Open the export dialog over `parent` (window-modal, non-blocking) and return it."""
    dlg = ExportDialog(app, worker, parent)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    dlg.setWindowModality(Qt.WindowModality.WindowModal)
    dlg.open()
    return dlg


def _path_row(edit: QLineEdit, browse_slot: Callable[[], None]) -> tuple[QHBoxLayout, QPushButton]:
    """A path field with its Browse… button beside it, which calls `browse_slot`."""
    browse = QPushButton("Browse…")
    browse.clicked.connect(browse_slot)
    row = QHBoxLayout()
    row.addWidget(edit)
    row.addWidget(browse)
    return row, browse
