"""DICOM photographs written with pydicom, carrying identifying tags, for tests, demos and benchmarks.

Every file gets a real-looking patient (name, ID, birth date, institution, physicians) so a test can grep
outputs for each identifying string; `IDENTIFYING_KEYWORDS` lists the attributes filled in.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    SecondaryCaptureImageStorage,
    VLPhotographicImageStorage,
    generate_uid,
)

IDENTIFYING_KEYWORDS = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "OtherPatientIDs",
    "PatientAddress",
    "InstitutionName",
    "InstitutionAddress",
    "ReferringPhysicianName",
    "PerformingPhysicianName",
    "OperatorsName",
    "AccessionNumber",
    "StationName",
    "StudyID",
    "DeviceSerialNumber",
    "PatientTelephoneNumbers",
)


@dataclass(frozen=True)
class Person:
    """The identifying values written into a file's header."""

    name: str = "Doe^Jane"
    patient_id: str = "MRN-4411-7788"
    birth_date: str = "19610423"
    other_ids: str = "NHS-943-476-5919"
    address: str = "12 Rosewood Lane, Springfield"
    phone: str = "+44-20-7946-0958"
    institution: str = "Saint Hildegard Dermatology Clinic"
    institution_address: str = "1 Clinic Road, Kingsbridge"
    referring: str = "Marlowe^Gregory"
    performing: str = "Okonkwo^Adaeze"
    operator: str = "Vasquez^Tomasz"
    accession: str = "ACC-55120931"
    station: str = "DERMSCOPE-ROOM7"
    study_id: str = "STUDY-0091"
    device_serial: str = "SN-7781-QX"

    def identifying_strings(self) -> list[str]:
        """Every value as it may appear in text: DICOM person names also with '^' turned into spaces."""
        values = [
            self.name,
            self.patient_id,
            self.birth_date,
            self.other_ids,
            self.address,
            self.phone,
            self.institution,
            self.institution_address,
            self.referring,
            self.performing,
            self.operator,
            self.accession,
            self.station,
            self.study_id,
            self.device_serial,
        ]
        out = set(values)
        for v in values:
            if "^" in v:
                out.update({v.replace("^", " "), *v.split("^")})
        return sorted(out, key=len, reverse=True)


def lesion_rgb(h: int = 96, w: int = 128, seed: int = 0) -> np.ndarray:
    """A skin-coloured field with one darker blob: enough structure for codecs and registration."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = h * (0.4 + 0.2 * rng.random()), w * (0.4 + 0.2 * rng.random())
    blob = np.exp(-(((yy - cy) / (h / 5)) ** 2 + ((xx - cx) / (w / 6)) ** 2))
    base = np.stack([np.full((h, w), 205.0), np.full((h, w), 160.0), np.full((h, w), 140.0)], axis=2)
    dark = np.array([90.0, 55.0, 40.0])
    rgb = base * (1 - blob[..., None]) + dark * blob[..., None] + rng.normal(0, 6, (h, w, 3))
    return np.clip(rgb, 0, 255).astype(np.uint8)


def photo_dataset(
    rgb: np.ndarray | list[np.ndarray],
    *,
    person: Person | None = None,
    sop_class: str = VLPhotographicImageStorage,
    study_uid: str | None = None,
    study_date: str = "20240115",
    region: str = "Left forearm",
    lesion_label: str = "",
    modality: str = "XC",
) -> Dataset:
    """An uncompressed (explicit VR little endian) photograph; several arrays make a multi-frame file."""
    person = person or Person()
    frames = rgb if isinstance(rgb, list) else [rgb]
    h, w = frames[0].shape[:2]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.Modality = modality
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = person.name, person.patient_id, person.birth_date
    ds.OtherPatientIDs, ds.PatientAddress = person.other_ids, person.address
    ds.PatientTelephoneNumbers = person.phone
    ds.InstitutionName, ds.InstitutionAddress = person.institution, person.institution_address
    ds.ReferringPhysicianName, ds.PerformingPhysicianName = person.referring, person.performing
    ds.OperatorsName, ds.AccessionNumber, ds.StationName = person.operator, person.accession, person.station
    ds.StudyID, ds.DeviceSerialNumber = person.study_id, person.device_serial
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.StudyDate = ds.ContentDate = study_date
    if region:
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "T-D8200", "SRT", region
        ds.AnatomicRegionSequence = Sequence([code])
    if lesion_label:
        ds.ContentLabel = lesion_label
    ds.Rows, ds.Columns = h, w
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    if len(frames) > 1:
        ds.NumberOfFrames = len(frames)
    ds.PixelData = b"".join(np.ascontiguousarray(f, dtype=np.uint8).tobytes() for f in frames)
    return ds


def as_jpeg_baseline(ds: Dataset, frames: list[np.ndarray], quality: int = 92) -> Dataset:
    """The same dataset with its frames JPEG-compressed by Pillow (YCbCr, so YBR_FULL_422)."""
    encoded = []
    for f in frames:
        buf = io.BytesIO()
        Image.fromarray(f).save(buf, "JPEG", quality=quality)
        encoded.append(buf.getvalue())
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.PixelData = encapsulate(encoded)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    return ds


def write(ds: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def secondary_capture(rgb: np.ndarray, **kw) -> Dataset:
    return photo_dataset(rgb, sop_class=SecondaryCaptureImageStorage, modality="OT", **kw)


def write_jpeg_lossless(ds: Dataset, path: Path) -> Path:
    """`ds` (uncompressed) written to `path` as JPEG Lossless (first-order prediction), encoded by GDCM:
    pydicom has no encoder for it, and GDCM is the only decoder the app has for it."""
    import gdcm

    write(ds, path)
    reader = gdcm.ImageReader()
    reader.SetFileName(str(path))
    change = gdcm.ImageChangeTransferSyntax()
    change.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.JPEGLosslessProcess14_1))
    if not reader.Read():
        raise RuntimeError(f"GDCM could not read {path}")
    change.SetInput(reader.GetImage())
    if not change.Change():
        raise RuntimeError(f"GDCM could not encode {path} as JPEG Lossless")
    writer = gdcm.ImageWriter()
    writer.SetFileName(str(path))
    writer.SetFile(reader.GetFile())
    writer.SetImage(change.GetOutput())
    if not writer.Write():
        raise RuntimeError(f"GDCM could not write {path}")
    return path


def write_transfer_syntax_set(folder: Path, seed: int = 1) -> list[Path]:
    """One lesion photograph in each pixel encoding a clinic's archive sends: uncompressed, JPEG
    baseline, RLE lossless, JPEG 2000 lossless and JPEG lossless. Why: the frozen app's decoders are
    compiled libraries (GDCM's, pylibjpeg's plug-ins found through package metadata) that a bundle can
    silently lose, so `make bundle-test` runs the frozen self-test on these. JPEG lossless has no decoder
    but GDCM, so it fails there if GDCM is missing (baseline and JPEG 2000 would fall back to Pillow or
    OpenJPEG)."""
    from pydicom.uid import JPEG2000Lossless, RLELossless

    folder = Path(folder)
    rgb = lesion_rgb(200, 240, seed)
    out = [
        write(photo_dataset(rgb), folder / "uncompressed.dcm"),
        write(as_jpeg_baseline(photo_dataset(rgb), [rgb]), folder / "jpeg-baseline.dcm"),
    ]
    for name, syntax in (("rle-lossless.dcm", RLELossless), ("jpeg2000-lossless.dcm", JPEG2000Lossless)):
        ds = photo_dataset(rgb)
        ds.compress(syntax)
        out.append(write(ds, folder / name))
    out.append(write_jpeg_lossless(photo_dataset(rgb), folder / "jpeg-lossless.dcm"))
    return out


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 2:
        sys.exit("usage: python -m medgrad_desktop.testing.dicom_samples FOLDER")
    for p in write_transfer_syntax_set(Path(sys.argv[1])):
        print(p)
