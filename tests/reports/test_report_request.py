"""The one planning path of a report (`plan_report`): grouping by patient, report order, the identifying
values to scrub, and the privacy rules, for de-identified and named reports. No model runs here."""

from __future__ import annotations

from pathlib import Path

import pytest

from medgrad_desktop.core.imageio import list_images
from medgrad_desktop.core.method_params import default_params
from medgrad_desktop.data.patients import SidecarError
from medgrad_desktop.reports import ReportOptions
from medgrad_desktop.reports.request import ReportRequest, plan_report
from medgrad_desktop.testing.sample_images import write_sample_folder
from tests.data.test_patient_sets import JANE, OMAR, _dicom_set

PARAMS = [default_params("medgrad"), default_params("gradcam")]


@pytest.fixture
def dicom_folder(tmp_path: Path) -> Path:
    """Two patients in DICOM files (written out of date order) and two loose JPEGs of no patient."""
    folder = tmp_path / "set"
    _dicom_set(folder)
    write_sample_folder(folder, 2)
    return folder


def test_deidentified_plan_groups_orders_and_collects_identifiers(dicom_folder: Path, tmp_path: Path):
    paths = list_images(dicom_folder, recursive=True)
    request = plan_report(
        reversed(paths), dicom_folder, PARAMS, tmp_path / "out", formats=("csv", "pdf", "csv")
    )
    names = [p.name for p in request.paths]
    # patient (first visit date), lesion, visit; then the ungrouped images in the order they were given
    assert names == [
        "Haddad_Omar.dcm",
        "Doe_Jane_back_2023.dcm",
        "Doe_Jane_back_2024.dcm",
        "Doe_Jane_arm_2024.dcm",
        "lesion_001.jpg",
        "lesion_000.jpg",
    ]
    groups = request.options.groups
    assert [(groups[p].patient, groups[p].lesion, groups[p].visit) for p in request.paths[:4]] == [
        ("P-001", "L-01", "V-1"),
        ("P-002", "L-01", "V-1"),
        ("P-002", "L-01", "V-2"),
        ("P-002", "L-02", "V-1"),
    ]
    assert not any(p in groups for p in request.paths[4:])
    ident = request.options.identifying
    assert {JANE.patient_id, OMAR.patient_id, JANE.birth_date, JANE.address, OMAR.phone} <= ident
    assert request.options.deidentify and request.params == tuple(PARAMS)
    assert request.formats == ("csv", "pdf") and request.steps == 6 + 2


def test_named_plan_keeps_real_identifiers_and_scrubs_nothing(dicom_folder: Path, tmp_path: Path):
    paths = list_images(dicom_folder, recursive=True)
    options = ReportOptions(deidentify=False, top_k=3, opacity=0.25)
    request = plan_report(paths, dicom_folder, PARAMS, tmp_path / "out", options=options)
    assert {g.patient for g in request.options.groups.values()} == {JANE.patient_id, OMAR.patient_id}
    assert request.options.identifying == frozenset()
    assert (request.options.top_k, request.options.opacity) == (3, 0.25)  # the user's choices kept
    assert [p.name for p in request.paths][:2] == ["Haddad_Omar.dcm", "Doe_Jane_back_2023.dcm"]


def test_ungrouped_folder_keeps_folder_order_and_has_no_groups(tmp_path: Path):
    paths = write_sample_folder(tmp_path / "imgs", 3)
    request = plan_report(paths, tmp_path / "imgs", PARAMS[:1], tmp_path / "out")
    assert request.paths == tuple(paths)
    assert request.options.groups is None and request.options.identifying == frozenset()


def test_privacy_rules_and_bad_requests_are_refused_while_planning(tmp_path: Path):
    folder = tmp_path / "imgs"
    paths = write_sample_folder(folder, 2)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="outside the report folder"):
        plan_report(paths, folder, PARAMS, out, pseudonym_map=out / "sub" / "key.csv")
    with pytest.raises(ValueError, match="only applies to a de-identified report"):
        plan_report(
            paths,
            folder,
            PARAMS,
            out,
            options=ReportOptions(deidentify=False),
            pseudonym_map=tmp_path / "key.csv",
        )
    assert plan_report(paths, folder, PARAMS, out, pseudonym_map=tmp_path / "key.csv").pseudonym_map == (
        tmp_path / "key.csv"
    )
    with pytest.raises(ValueError, match="no images"):
        plan_report([], folder, PARAMS, out)
    with pytest.raises(ValueError, match="no report format"):
        plan_report(paths, folder, PARAMS, out, formats=())
    with pytest.raises(ValueError, match="unknown format 'docx'"):
        plan_report(paths, folder, PARAMS, out, formats=("pdf", "docx"))
    with pytest.raises(ValueError, match="at least one explanation method"):
        plan_report(paths, folder, [], out)
    (folder / "patients.csv").write_text("file,who\nx,y\n", encoding="utf-8")
    with pytest.raises(SidecarError, match="missing column"):
        plan_report(paths, folder, PARAMS, out)


def test_a_request_is_frozen_and_knows_what_it_would_replace(tmp_path: Path):
    folder = tmp_path / "imgs"
    paths = write_sample_folder(folder, 1)
    request = ReportRequest(
        paths, PARAMS, tmp_path / "out", formats=("csv",), pseudonym_map=tmp_path / "k.csv"
    )
    assert request.existing_outputs() == []
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.csv").write_text("old")
    (tmp_path / "k.csv").write_text("old key")
    assert request.existing_outputs() == [
        tmp_path / "out" / "report.csv",
        tmp_path / "k.csv",
    ]
    with pytest.raises(AttributeError):
        request.force = True  # type: ignore[misc]
