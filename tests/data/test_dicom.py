"""DICOM input: pydicom's own files written by dcmtk/gdcm, our own photographs in each transfer syntax,
multi-frame addressing, and hostile files that must each give a per-file message while the rest of a
folder loads. Input files are never modified."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import pixel_array
from pydicom.pixels.decoders.base import get_decoder
from pydicom.sequence import Sequence
from pydicom.uid import RLELossless, generate_uid

from medgrad_desktop.core import dicomio
from medgrad_desktop.core.imageio import ImageLoadError, is_image_file, list_images, load_image
from medgrad_desktop.testing import dicom_samples as ds_

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
PYDICOM_FILES = sorted(p for pat in ("SC_rgb*", "SC_ybr*", "examples_*") for p in TEST_FILES.glob(pat))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _decodable_here(path: Path) -> bool:
    ts = pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID
    try:
        return get_decoder(ts).is_available
    except NotImplementedError:
        return False


def test_pydicom_ships_the_files():
    assert len(PYDICOM_FILES) >= 25, "pydicom's test files are missing: reinstall pydicom"


@pytest.mark.parametrize("path", PYDICOM_FILES, ids=lambda p: p.name)
def test_every_pydicom_file_goes_through_the_reader(path: Path):
    before = _digest(path)
    listed = dicomio.expand_frames(path)
    is_photo = path.name.startswith("SC_")
    for frame_path in listed:
        if not _decodable_here(path):
            with pytest.raises(ImageLoadError, match="transfer syntax"):
                load_image(frame_path)
            continue
        if is_photo:
            img = load_image(frame_path)
            assert img.rgb.dtype == np.uint8 and img.rgb.ndim == 3 and img.rgb.shape[2] == 3
            _, frame = dicomio.split_frame(frame_path)
            ref = pixel_array(pydicom.dcmread(path), index=(frame - 1) if frame else None, as_rgb=True)
            assert img.rgb.shape[:2] == ref.shape[:2]
            if ref.dtype == np.uint8:
                assert np.array_equal(img.rgb, ref)
            else:  # more than 8 bits: scaled, so the order of values is kept
                bits = int(pydicom.dcmread(path, stop_before_pixels=True).BitsStored)
                expect = np.round(ref.astype(np.float64) / ((1 << bits) - 1) * 255).astype(np.uint8)
                assert np.abs(img.rgb.astype(int) - expect).max() <= 1
            assert len(np.unique(img.rgb)) > 1  # not a blank decode
        else:  # ultrasound / MR examples: decodable, but not photographs, so refused by name
            with pytest.raises(ImageLoadError, match="not a photograph") as err:
                load_image(frame_path)
            assert frame_path.name in str(err.value)
            _, frame = dicomio.split_frame(frame_path)
            rgb, _ = dicomio.decode_frame(path, frame, max_pixels=10**9, photographs_only=False)
            assert rgb.dtype == np.uint8 and rgb.shape[2] == 3 and rgb.std() > 1
    assert _digest(path) == before


def test_listing_includes_every_pydicom_file_and_frame():
    listed = set(list_images(TEST_FILES))
    for path in PYDICOM_FILES:
        assert set(dicomio.expand_frames(path)) <= listed, path.name


def test_multiframe_frames_are_separate_images():
    path = TEST_FILES / "SC_rgb_rle_2frame.dcm"
    frames = dicomio.expand_frames(path)
    assert [p.name for p in frames] == ["SC_rgb_rle_2frame.dcm#1", "SC_rgb_rle_2frame.dcm#2"]
    a, b = load_image(frames[0]), load_image(frames[1])
    assert a.sha256 != b.sha256 and not np.array_equal(a.rgb, b.rgb)
    assert all(is_image_file(p) for p in frames)
    with pytest.raises(ImageLoadError, match="frame 3 does not exist"):
        load_image(path.with_name(path.name + "#3"))


def _own_files(tmp: Path) -> dict[str, tuple[Path, np.ndarray]]:
    rgb = ds_.lesion_rgb(64, 80, seed=1)
    out = {}
    out["vl_uncompressed"] = (ds_.write(ds_.photo_dataset(rgb), tmp / "vl.dcm"), rgb)
    out["sc_uncompressed"] = (ds_.write(ds_.secondary_capture(rgb), tmp / "sc.dcm"), rgb)
    jpeg = ds_.as_jpeg_baseline(ds_.photo_dataset(rgb), [rgb])
    out["vl_jpeg_baseline"] = (ds_.write(jpeg, tmp / "vl_jpeg.dcm"), rgb)
    rle = ds_.photo_dataset(rgb)
    rle.compress(RLELossless)
    out["vl_rle"] = (ds_.write(rle, tmp / "vl_rle.dcm"), rgb)
    no_suffix = tmp / "IM000001"
    out["no_suffix"] = (ds_.write(ds_.photo_dataset(rgb), no_suffix), rgb)
    return out


def test_own_photographs_in_each_transfer_syntax(tmp_path: Path):
    files = _own_files(tmp_path)
    listed = {p.name for p in list_images(tmp_path)}
    assert listed == {p.name for p, _ in files.values()}
    for kind, (path, rgb) in files.items():
        before = _digest(path)
        img = load_image(path)
        tolerance = 12 if "jpeg" in kind else 0
        assert np.abs(img.rgb.astype(int) - rgb.astype(int)).mean() <= max(tolerance, 0), kind
        assert img.sha256 == before  # single frame: the file's own hash
        assert _digest(path) == before


def test_own_multiframe_lists_each_frame(tmp_path: Path):
    frames = [ds_.lesion_rgb(40, 50, seed=s) for s in range(3)]
    ds_.write(ds_.photo_dataset(frames), tmp_path / "series.dcm")
    listed = list_images(tmp_path)
    assert [p.name for p in listed] == ["series.dcm#1", "series.dcm#2", "series.dcm#3"]
    for p, f in zip(listed, frames, strict=True):
        assert np.array_equal(load_image(p).rgb, f)


def _hostile(tmp: Path) -> dict[str, tuple[Path, str]]:
    rgb = ds_.lesion_rgb(48, 48, seed=2)
    out: dict[str, tuple[Path, str]] = {}
    good = ds_.write(ds_.photo_dataset(rgb), tmp / "whole.dcm")
    data = good.read_bytes()
    (tmp / "truncated.dcm").write_bytes(data[: len(data) - 3000])
    out["truncated"] = (tmp / "truncated.dcm", "truncated")
    mpeg = ds_.photo_dataset(rgb)
    mpeg.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2 video
    mpeg.PixelData = pydicom.encaps.encapsulate([b"\x00\x00\x01\xb3" + b"\x00" * 64])
    mpeg["PixelData"].VR = "OB"
    mpeg["PixelData"].is_undefined_length = True
    out["unsupported_syntax"] = (ds_.write(mpeg, tmp / "video.dcm"), "transfer syntax")
    nopix = ds_.photo_dataset(rgb)
    del nopix.PixelData
    out["no_pixel_data"] = (ds_.write(nopix, tmp / "nopixels.dcm"), "no pixel data")
    huge = ds_.photo_dataset(rgb)
    huge.Rows = huge.Columns = 60000
    out["huge"] = (ds_.write(huge, tmp / "huge.dcm"), "megapixels")
    wrong = ds_.photo_dataset(rgb)
    wrong.SamplesPerPixel = 1  # says RGB, one sample per pixel
    out["wrong_photometric"] = (ds_.write(wrong, tmp / "wrongpi.dcm"), "samples per pixel")
    odd = ds_.photo_dataset(rgb)
    odd.PhotometricInterpretation = "HSV"
    out["unknown_photometric"] = (ds_.write(odd, tmp / "hsv.dcm"), "photometric interpretation")
    (tmp / "notdicom.dcm").write_bytes(b"this is not DICOM at all" * 10)
    out["not_dicom"] = (tmp / "notdicom.dcm", "not a DICOM file")
    ddir = Dataset()
    ddir.file_meta = FileMetaDataset()
    ddir.file_meta.MediaStorageSOPClassUID = dicomio.DICOMDIR_SOP
    ddir.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ddir.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ddir.FileSetID = "DERM"
    rec = Dataset()
    rec.DirectoryRecordType = "PATIENT"
    rec.PatientID = "MRN-1"
    ddir.DirectoryRecordSequence = Sequence([rec])
    ddir_path = tmp / "DICOMDIR"
    ddir.save_as(ddir_path, enforce_file_format=True)
    out["dicomdir"] = (ddir_path, "DICOMDIR")
    return out


def test_hostile_dicom_each_fails_alone(tmp_path: Path):
    hostile = _hostile(tmp_path)
    digests = {p: _digest(p) for p in tmp_path.iterdir()}
    listed = list_images(tmp_path)
    loaded, errors = [], {}
    for p in listed:
        try:
            loaded.append(load_image(p))
        except ImageLoadError as exc:
            errors[p.name] = str(exc)
    assert [im.path.name for im in loaded] == ["whole.dcm"]
    for kind, (path, phrase) in hostile.items():
        assert path.name in errors, f"{kind} was not listed or did not fail"
        msg = errors[path.name]
        assert msg.startswith(path.name + ": ") and phrase.lower() in msg.lower(), (kind, msg)
        assert "\n" not in msg
    assert {p: _digest(p) for p in tmp_path.iterdir()} == digests  # nothing written to the inputs


def test_header_carries_grouping_keys(tmp_path: Path):
    ds = ds_.photo_dataset(ds_.lesion_rgb(), study_date="20230301", region="Back", lesion_label="mole A")
    h = dicomio.read_header(ds_.write(ds, tmp_path / "a.dcm"))
    assert (h.patient_id, h.study_date, h.body_part, h.lesion_id, h.frames) == (
        "MRN-4411-7788",
        "20230301",
        "Back",
        "mole A",
        1,
    )
    assert h.sop_class_uid == dicomio.VL_PHOTOGRAPHIC and h.modality == "XC"


def test_twelve_bit_jpeg_extended_is_refused_with_its_cause():
    """The app's decoders are permissively licensed; none of them (GDCM, Pillow) reads 12-bit JPEG
    Extended, so such a file is refused before decoding, with what to re-export it as."""
    with pytest.raises(dicomio.DicomError, match="with 12-bit samples, which this app cannot decode"):
        dicomio.decode_frame(TEST_FILES / "JPGExtended.dcm", max_pixels=10**9, photographs_only=False)


def test_the_bundle_check_set_decodes_to_the_same_pixels(tmp_path):
    """The five files `make bundle-test` gives the frozen app: the lossless ones equal the uncompressed
    pixels exactly, JPEG baseline stays close; JPEG lossless is read by GDCM alone."""
    paths = ds_.write_transfer_syntax_set(tmp_path)
    assert [p.name for p in paths] == [
        "uncompressed.dcm",
        "jpeg-baseline.dcm",
        "rle-lossless.dcm",
        "jpeg2000-lossless.dcm",
        "jpeg-lossless.dcm",
    ]
    lossless = pydicom.dcmread(paths[4], stop_before_pixels=True).file_meta.TransferSyntaxUID
    assert get_decoder(lossless).available_plugins == ("gdcm",)
    ref = load_image(paths[0]).rgb
    for p in paths[2:]:
        assert np.array_equal(load_image(p).rgb, ref), p.name
    assert np.abs(load_image(paths[1]).rgb.astype(int) - ref).mean() < 8
