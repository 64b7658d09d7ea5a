"""DICOM photographs (VL Photographic, the other visible-light classes, Secondary Capture) decoded into
one RGB uint8 array per frame, or refused with a one-line cause a person can act on.

A multi-frame file is several images: frame N (1-based) of `a.dcm` is addressed as the path `a.dcm#N`,
so every list of paths (the app's grid, the CLI, a report) can carry frames without a new type. A
single-frame file keeps its plain path. Files are opened read-only and never written.

The decoders are pydicom's, all under permissive licences (the app is proprietary, so no GPL decoder):
uncompressed (little and big endian) and RLE natively or through pylibjpeg-rle; JPEG baseline, 8-bit
extended and lossless, JPEG-LS and JPEG 2000 through GDCM (python-gdcm); HTJ2K through pylibjpeg-openjpeg.
JPEG extended with 12-bit samples has no such decoder and is refused with its cause. YBR colour is
converted to RGB; palette colour goes through its lookup table; more than 8 bits per sample are scaled
to 8.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_color_lut, apply_voi_lut, pixel_array
from pydicom.pixels.decoders.base import get_decoder
from pydicom.uid import UID, JPEGExtended12Bit

DICOM_SUFFIXES = (".dcm", ".dicom", ".dic")
VL_FAMILY = "1.2.840.10008.5.1.4.1.1.77.1."  # endoscopic, microscopic, slide, photographic, ophthalmic...
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"  # and its multi-frame variants .7.1 to .7.4
VL_PHOTOGRAPHIC = "1.2.840.10008.5.1.4.1.1.77.1.4"
DICOMDIR_SOP = "1.2.840.10008.1.3.10"
MAX_DECODED_BYTES = 2 << 30  # a whole file's pixels: refuse before allocating more than this
_FRAME = re.compile(r"^(?P<base>.+)#(?P<frame>[1-9][0-9]{0,5})$")
_COLOUR = {"RGB", "YBR_FULL", "YBR_FULL_422", "YBR_PARTIAL_420", "YBR_ICT", "YBR_RCT"}
_MONO = {"MONOCHROME1", "MONOCHROME2"}
_MODALITY_NAMES = {
    "CT": "a CT",
    "MR": "an MR",
    "US": "an ultrasound",
    "CR": "a radiograph",
    "DX": "a radiograph",
    "MG": "a mammogram",
    "NM": "a nuclear medicine",
    "PT": "a PET",
    "XA": "an angiography",
}


class DicomError(Exception):
    """A DICOM file could not become an image; `str()` is the cause (the caller adds the file name)."""


@dataclass(frozen=True)
class DicomHeader:
    """What the app reads from a DICOM header besides pixels: grouping keys and the identifying text
    that de-identification must keep out of every output."""

    sop_class_uid: str
    modality: str
    frames: int
    patient_id: str
    patient_name: str
    study_uid: str
    study_date: str
    series_uid: str
    body_part: str  # BodyPartExamined or the anatomic region's meaning
    lesion_id: str  # a lesion identifier where the file carries one (ContentLabel / ClinicalTrialSeriesID)


def split_frame(path: Path | str) -> tuple[Path, int | None]:
    """(file, frame) for a path `file#N` whose file is a DICOM name; (path, None) otherwise."""
    path = Path(path)
    m = _FRAME.match(path.name)
    if m is None or Path(m["base"]).suffix.lower() not in (*DICOM_SUFFIXES, "") or path.exists():
        return path, None
    return path.with_name(m["base"]), int(m["frame"])


def frame_path(path: Path, frame: int) -> Path:
    return path.with_name(f"{path.name}#{frame}")


def frame_digest(file_sha256: str, frame: int | None) -> str:
    """The identity of one frame: the file's SHA-256 for a plain path, else the SHA-256 of the file's
    hash followed by `#N`, so each frame of a multi-frame file has its own predictions and review."""
    if frame is None:
        return file_sha256
    return hashlib.sha256(f"{file_sha256}#{frame}".encode("ascii")).hexdigest()


def has_dicom_magic(path: Path) -> bool:
    """True when bytes 128..131 are 'DICM' (the DICOM Part 10 preamble)."""
    try:
        with open(path, "rb") as f:
            head = f.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def is_dicom_path(path: Path) -> bool:
    """A file the app treats as DICOM: by suffix, or a file without suffix (as imaging systems and
    DICOM media write them) whose preamble says DICM."""
    suffix = path.suffix.lower()
    if suffix in DICOM_SUFFIXES:
        return True
    return (suffix == "" or path.name.upper() == "DICOMDIR") and path.is_file() and has_dicom_magic(path)


def _read(path: Path, pixels: bool) -> pydicom.Dataset:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pydicom.dcmread(path, stop_before_pixels=not pixels)
    except InvalidDicomError:
        raise DicomError(
            "is not a DICOM file (no 'DICM' marker after the 128-byte preamble); re-export it "
            "from the imaging system as DICOM Part 10, or as JPEG/PNG"
        ) from None
    except (EOFError, OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise DicomError(
            f"has a damaged or truncated DICOM header ({type(exc).__name__}: {str(exc)[:100]}); "
            "re-copy it from the source"
        ) from None


def read_header(path: Path | str) -> DicomHeader:
    """The header only (no pixel data is read)."""
    ds = _read(Path(path), pixels=False)
    return header_of(ds)


def _text(ds: pydicom.Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    return "" if value is None else str(value).strip()


def header_of(ds: pydicom.Dataset) -> DicomHeader:
    region = ""
    seq = ds.get("AnatomicRegionSequence")
    if seq:
        region = _text(seq[0], "CodeMeaning")
    try:
        frames = int(ds.get("NumberOfFrames") or 1)
    except (TypeError, ValueError):
        frames = 1
    return DicomHeader(
        sop_class_uid=_text(ds, "SOPClassUID"),
        modality=_text(ds, "Modality"),
        frames=max(1, frames),
        patient_id=_text(ds, "PatientID"),
        patient_name=_text(ds, "PatientName"),
        study_uid=_text(ds, "StudyInstanceUID"),
        study_date=_text(ds, "StudyDate"),
        series_uid=_text(ds, "SeriesInstanceUID"),
        body_part=region or _text(ds, "BodyPartExamined"),
        lesion_id=_text(ds, "ContentLabel") or _text(ds, "ClinicalTrialSeriesID"),
    )


def expand_frames(path: Path) -> list[Path]:
    """The paths a DICOM file contributes to a listing: `file#1..#N` when it holds N > 1 frames, else
    the file itself (also when its header cannot be read: loading it then names the problem)."""
    try:
        frames = read_header(path).frames
    except DicomError:
        return [path]
    if frames <= 1:
        return [path]
    return [frame_path(path, n) for n in range(1, frames + 1)]


def is_photograph_class(sop_class_uid: str) -> bool:
    return (
        sop_class_uid.startswith(VL_FAMILY)
        or sop_class_uid == SECONDARY_CAPTURE
        or sop_class_uid.startswith(SECONDARY_CAPTURE + ".")
    )


def _check_class(ds: pydicom.Dataset) -> None:
    sop = _text(ds, "SOPClassUID") or _text(
        getattr(ds, "file_meta", pydicom.Dataset()), "MediaStorageSOPClassUID"
    )
    if sop == DICOMDIR_SOP or "DirectoryRecordSequence" in ds:
        raise DicomError(
            "is a DICOMDIR (the index of a DICOM disc or folder), not an image; the images are "
            "the files it lists, open their folder instead"
        )
    if not is_photograph_class(sop):
        modality = _text(ds, "Modality")
        what = _MODALITY_NAMES.get(modality, f"a '{modality or 'unknown modality'}'")
        name = UID(sop).name if sop else "none"
        raise DicomError(
            f"is {what} image (SOP class {name}), not a photograph; MedGrad reads dermoscopic and "
            "clinical photographs (VL Photographic or Secondary Capture)"
        )


def _transfer_syntax(ds: pydicom.Dataset) -> UID:
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    return UID(ts) if ts else pydicom.uid.ImplicitVRLittleEndian


def _check_image_attributes(ds: pydicom.Dataset, frame: int | None, max_pixels: int) -> tuple[str, int]:
    if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        raise DicomError(
            "has no pixel data (a DICOM object without an image, e.g. a report or a presentation "
            "state); choose the image file itself"
        )
    missing = [
        k
        for k in ("Rows", "Columns", "SamplesPerPixel", "PhotometricInterpretation", "BitsAllocated")
        if ds.get(k) in (None, "")
    ]
    if missing:
        raise DicomError(
            f"lacks the image attributes {', '.join(missing)}; the file is incomplete, re-export it"
        )
    rows, cols, spp = int(ds.Rows), int(ds.Columns), int(ds.SamplesPerPixel)
    frames = header_of(ds).frames
    if rows < 1 or cols < 1:
        raise DicomError(f"has no pixels ({cols}x{rows})")
    if rows * cols > max_pixels:
        raise DicomError(
            f"is {cols}x{rows} = {rows * cols / 1e6:.0f} megapixels, over the "
            f"{max_pixels / 1e6:.0f} MP safety limit; downscale it before review"
        )
    if rows * cols * spp * ((int(ds.BitsAllocated) + 7) // 8) * frames > MAX_DECODED_BYTES:
        raise DicomError(
            f"declares {frames} frames of {cols}x{rows} pixels, more than can be decoded safely "
            f"({MAX_DECODED_BYTES >> 30} GiB); split or downscale it"
        )
    pi = _text(ds, "PhotometricInterpretation").upper()
    if pi in _COLOUR and spp != 3 or (pi in _MONO or pi == "PALETTE COLOR") and spp != 1:
        raise DicomError(
            f"says its colour is {pi} but has {spp} samples per pixel; the header is "
            "inconsistent, re-export the image"
        )
    if pi not in _COLOUR | _MONO | {"PALETTE COLOR"}:
        raise DicomError(
            f"has the photometric interpretation '{pi}', which is not a colour or grey image this "
            "app can show (expected RGB, YBR_*, MONOCHROME1/2 or PALETTE COLOR)"
        )
    if frame is not None and frame > frames:
        raise DicomError(f"has {frames} frame(s); frame {frame} does not exist")
    return pi, frames


def _check_decoder(ds: pydicom.Dataset) -> None:
    ts = _transfer_syntax(ds)
    try:
        decoder = get_decoder(ts)
    except NotImplementedError:
        raise DicomError(
            f"uses the transfer syntax {ts.name} ({ts}), which this app cannot decode; re-export it "
            "uncompressed, as JPEG, RLE or JPEG 2000"
        ) from None
    if not decoder.is_available:
        raise DicomError(
            f"uses the transfer syntax {ts.name} ({ts}), whose decoder is not installed here; "
            "re-export it uncompressed or as JPEG"
        )
    twelve_bit = ts == JPEGExtended12Bit and int(ds.get("BitsStored") or 8) != 8
    if twelve_bit and "pylibjpeg" not in decoder.available_plugins:  # GDCM and Pillow read 8-bit only
        raise DicomError(
            f"uses the transfer syntax {ts.name} ({ts}) with 12-bit samples, which this app cannot "
            "decode; re-export it uncompressed, as JPEG lossless or as JPEG 2000"
        )


def _to_uint8(values: np.ndarray, bits: int) -> np.ndarray:
    """Scale samples of `bits` significant bits to 0..255 (an 8-bit image is returned as it is)."""
    if values.dtype == np.uint8:
        return values
    top = float((1 << min(bits, 32)) - 1) if bits > 0 else float(values.max() or 1)
    scaled = np.clip(values.astype(np.float64), 0, top) / top * 255.0
    return np.round(scaled).astype(np.uint8)


def _grey_to_uint8(ds: pydicom.Dataset, grey: np.ndarray, pi: str) -> np.ndarray:
    """A grey image through its VOI LUT or window when it has one, else its own range, to 0..255."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
            grey = apply_voi_lut(grey, ds)
    arr = grey.astype(np.float64)
    lo, hi = float(arr.min()), float(arr.max())
    out = (
        np.zeros(arr.shape, np.uint8) if hi <= lo else np.round((arr - lo) / (hi - lo) * 255).astype(np.uint8)
    )
    if pi == "MONOCHROME1":  # 0 is white
        out = 255 - out
    return np.repeat(out[:, :, None], 3, axis=2)


def decode_frame(
    path: Path | str, frame: int | None = None, *, max_pixels: int, photographs_only: bool = True
) -> tuple[np.ndarray, DicomHeader]:
    """One frame (1-based; None: the first) as RGB uint8, and the file's header. Raises `DicomError`.

    `photographs_only=False` decodes any image class (used to exercise the decoders on files of other
    modalities; the app itself only reads photographs)."""
    path = Path(path)
    ds = _read(path, pixels=True)
    if photographs_only or _text(ds, "SOPClassUID") == DICOMDIR_SOP or "DirectoryRecordSequence" in ds:
        _check_class(ds)
    pi, frames = _check_image_attributes(ds, frame, max_pixels)
    _check_decoder(ds)
    index = (frame or 1) - 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = pixel_array(ds, index=index if frames > 1 else None, as_rgb=True)
    except MemoryError:
        raise DicomError("is too large to decode in the memory available; downscale it") from None
    except Exception as exc:  # noqa: BLE001 - a decoder failing on a hostile file must stay a per-file error
        text = str(exc)
        if "length" in text.lower() or "end of" in text.lower() or "truncat" in text.lower():
            raise DicomError(
                "is truncated or damaged: its pixel data is shorter or other than its header says; "
                "re-copy it from the source"
            ) from None
        raise DicomError(
            f"pixel data could not be decoded ({type(exc).__name__}: {text[:120]}); re-export it "
            "uncompressed or as JPEG"
        ) from None
    bits = int(ds.get("BitsStored") or ds.BitsAllocated)
    if pi == "PALETTE COLOR":
        try:
            rgb = apply_color_lut(arr, ds)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DicomError(
                f"has a palette colour image whose lookup table cannot be read ({exc})"
            ) from None
        lut_bits = (
            int(ds.RedPaletteColorLookupTableDescriptor[2])
            if "RedPaletteColorLookupTableDescriptor" in ds
            else 8
        )
        rgb = _to_uint8(rgb, lut_bits)
    elif pi in _MONO:
        rgb = _grey_to_uint8(ds, arr, pi)
    else:
        rgb = _to_uint8(arr, bits)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise DicomError(f"decoded to an unexpected shape {rgb.shape}; re-export the image")
    return np.ascontiguousarray(rgb, dtype=np.uint8), header_of(ds)


# Attributes the DICOM PS3.15 Basic Application Level Confidentiality Profile removes or replaces that can
# carry a person's identity, a place, a date or a traceable number (text VRs; pixel data is separate).
BASIC_PROFILE_KEYWORDS = (
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "OtherPatientIDs",
    "OtherPatientNames",
    "PatientBirthDate",
    "PatientBirthTime",
    "PatientBirthName",
    "PatientMotherBirthName",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "PatientAge",
    "PatientSize",
    "PatientWeight",
    "MedicalRecordLocator",
    "EthnicGroup",
    "Occupation",
    "AdditionalPatientHistory",
    "PatientComments",
    "MilitaryRank",
    "BranchOfService",
    "CountryOfResidence",
    "RegionOfResidence",
    "InsurancePlanIdentification",
    "ResponsiblePerson",
    "ResponsibleOrganization",
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "ReferringPhysicianName",
    "ReferringPhysicianAddress",
    "ReferringPhysicianTelephoneNumbers",
    "PerformingPhysicianName",
    "NameOfPhysiciansReadingStudy",
    "PhysiciansOfRecord",
    "RequestingPhysician",
    "OperatorsName",
    "ScheduledPerformingPhysicianName",
    "AccessionNumber",
    "StudyID",
    "StudyDate",
    "SeriesDate",
    "AcquisitionDate",
    "ContentDate",
    "AcquisitionDateTime",
    "StationName",
    "DeviceSerialNumber",
    "StudyDescription",
    "SeriesDescription",
    "RequestedProcedureDescription",
    "PerformedProcedureStepID",
    "PerformedProcedureStepDescription",
    "ImageComments",
    "RequestAttributesSequence",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "FrameOfReferenceUID",
    "ContentLabel",
    "ContentCreatorName",
    "ClinicalTrialSubjectID",
    "ClinicalTrialSubjectReadingID",
    "ClinicalTrialSeriesID",
    "ClinicalTrialSiteName",
    "ClinicalTrialSponsorName",
    "ProtocolName",
    "DerivationDescription",
)


def _collect(ds: pydicom.Dataset, out: set[str]) -> None:
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value or []:
                if elem.keyword in BASIC_PROFILE_KEYWORDS:
                    out.update(
                        str(e.value).strip() for e in item if e.VR != "SQ" and e.value not in (None, "")
                    )
                _collect(item, out)
        elif elem.keyword in BASIC_PROFILE_KEYWORDS and elem.value not in (None, ""):
            values = elem.value if isinstance(elem.value, pydicom.multival.MultiValue) else [elem.value]
            for v in values:
                text = str(v).strip()
                out.add(text)
                if elem.VR == "PN":  # a person name also appears as its parts and with spaces
                    out.update(part.strip() for part in text.split("^") if part.strip())
                    out.add(" ".join(part for part in text.split("^") if part))


def identifying_text(path: Path | str) -> set[str]:
    """Every value of the basic-profile attributes in a file's header (and their sequences)."""
    ds = _read(Path(path), pixels=False)
    out: set[str] = set()
    _collect(ds, out)
    return {v for v in out if v}
