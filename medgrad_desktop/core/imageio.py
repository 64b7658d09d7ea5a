"""Decode any image a clinician may point the app at into one RGB uint8 array, or fail with a message
that names the file and says what to do. Never raises anything but `ImageLoadError` for a bad file.

EXIF orientation is applied here, once, so the image, its heatmap and every export agree. DICOM files
go through `dicomio` (one image per frame; frame N of a multi-frame file is the path `file.dcm#N`).
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from medgrad_desktop.core import dicomio

MAX_PIXELS = 180_000_000
IMAGE_SUFFIXES = (
    ".jpg",
    ".jpeg",
    ".jpe",
    ".png",
    ".bmp",
    ".tif",
    ".tiff",
    ".webp",
    ".gif",
    ".ppm",
    ".pgm",
    ".jfif",
)

# A truncated file must fail loudly rather than decode into a half-grey image the model then scores.
ImageFile.LOAD_TRUNCATED_IMAGES = False
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def display_name(path: Path | str) -> str:
    """The file name as text that can always be printed, written to UTF-8 and shown by Qt. Linux file
    names are bytes; one that is not UTF-8 reaches Python with lone surrogates, which crash any UTF-8
    encoder (a CSV, a PDF, the terminal); here such bytes become U+FFFD."""
    return Path(path).name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class ImageLoadError(Exception):
    """A file could not become an image. `str()` is one line a person can act on."""

    def __init__(self, path: Path | str, cause: str):
        self.path = Path(path)
        self.cause = cause
        super().__init__(f"{display_name(self.path)}: {cause}")


@dataclass(frozen=True)
class LoadedImage:
    path: Path
    rgb: np.ndarray  # (H, W, 3) uint8, orientation applied
    sha256: str
    exif_orientation: int  # 1 when none or already upright

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the upright image."""
        return self.rgb.shape[1], self.rgb.shape[0]


def is_image_file(path: Path) -> bool:
    """By name: a picture suffix, a DICOM suffix, or a frame `file.dcm#N` of a DICOM file."""
    path = Path(path)
    if path.suffix.lower() in IMAGE_SUFFIXES or path.suffix.lower() in dicomio.DICOM_SUFFIXES:
        return True
    return dicomio.split_frame(path)[1] is not None


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _to_rgb(img: Image.Image) -> np.ndarray:
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I;16") or arr.max() > 255 else 255.0
        gray = np.clip(np.round(arr / hi * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        gray = np.zeros(arr.shape, np.uint8) if hi <= lo else ((arr - lo) / (hi - lo) * 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    return np.asarray(img.convert("RGB"))


_ORIENT_OPS = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}


def _apply_orientation(rgb: np.ndarray, orientation: int) -> np.ndarray:
    img = Image.fromarray(rgb)
    for op in _ORIENT_OPS.get(orientation, ()):
        img = img.transpose(op)
    return np.asarray(img)


def _decode_16bit_rgb(path: Path) -> np.ndarray | None:
    """PIL reads 16-bit-per-channel RGB PNG/TIFF as 8-bit or not at all; OpenCV keeps the depth."""
    data = np.fromfile(path, dtype=np.uint8)
    arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED | cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    if arr is None or arr.dtype != np.uint16 or arr.ndim != 3:
        return None
    arr = arr[:, :, :3][:, :, ::-1]  # BGR(A) -> RGB
    return (arr.astype(np.uint32) * 255 // 65535).astype(np.uint8)


def _stat(path: Path) -> os.stat_result:
    """`os.stat`, with the three ways a listed path can fail to be a file turned into messages."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise ImageLoadError(
                path, "is a symbolic link to a file that does not exist; fix or remove the link"
            ) from None
        raise ImageLoadError(path, "no longer exists (moved or deleted?); reopen the folder") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ImageLoadError(
                path, "is a symbolic link loop (the link points back to itself); fix or remove the link"
            ) from None
        if exc.errno == errno.ENAMETOOLONG:
            raise ImageLoadError(
                path, "has a path too long for this system; move it to a shorter folder"
            ) from None
        raise


def _load_dicom(path: Path, source: Path, frame: int | None, digest: str) -> LoadedImage:
    try:
        rgb, _header = dicomio.decode_frame(source, frame, max_pixels=MAX_PIXELS)
    except dicomio.DicomError as exc:
        raise ImageLoadError(path, str(exc)) from None
    return LoadedImage(path=path, rgb=rgb, sha256=dicomio.frame_digest(digest, frame), exif_orientation=1)


def load_image(path: Path | str) -> LoadedImage:
    path = Path(path)
    source, frame = dicomio.split_frame(path)
    try:
        st = _stat(source)  # before os.access, which says "no" alike for missing, looping and unreadable
        if stat.S_ISDIR(st.st_mode):
            raise ImageLoadError(path, "is a folder, not an image file")
        if not stat.S_ISREG(st.st_mode):
            raise ImageLoadError(
                path, "is not a regular file (a device, pipe or socket); choose an image file"
            )
        if not os.access(source, os.R_OK):
            raise ImageLoadError(path, "cannot be read (permission denied); check the file's permissions")
        size = st.st_size
        if size == 0:
            raise ImageLoadError(path, "is empty (0 bytes); re-export or re-copy the image")
        digest = sha256_file(source)
        if frame is not None or dicomio.is_dicom_path(source):
            return _load_dicom(path, source, frame, digest)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                w, h = img.size
                if w * h > MAX_PIXELS:
                    raise ImageLoadError(
                        path,
                        f"is too large: {w}x{h} = {w * h / 1e6:.0f} megapixels, over the "
                        f"{MAX_PIXELS / 1e6:.0f} MP safety limit; downscale it before review",
                    )
                if w < 1 or h < 1:
                    raise ImageLoadError(path, f"has no pixels ({w}x{h})")
                img.seek(0)  # animated GIF/WebP: review the first frame
                orientation = int(img.getexif().get(0x0112, 1) or 1)
                img.load()
                upright = ImageOps.exif_transpose(img) if orientation != 1 else img
                rgb = None
                if img.format in ("PNG", "TIFF") and img.mode in ("RGB", "RGBA"):
                    rgb = _decode_16bit_rgb(path)  # None unless the file really is 16-bit
                if rgb is None:
                    rgb = _to_rgb(upright)
                elif orientation != 1:
                    rgb = _apply_orientation(rgb, orientation)
        rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ImageLoadError(path, f"decoded to an unexpected shape {rgb.shape}")
        return LoadedImage(path=path, rgb=rgb, sha256=digest, exif_orientation=orientation)
    except ImageLoadError:
        raise
    except FileNotFoundError:
        raise ImageLoadError(path, "no longer exists (moved or deleted?); reopen the folder") from None
    except PermissionError:
        raise ImageLoadError(
            path, "cannot be read (permission denied); check the file's permissions"
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageLoadError(path, f"is too large to decode safely ({exc}); downscale it") from None
    except UnidentifiedImageError:
        raise ImageLoadError(
            path, "is not a readable image (unknown or corrupt format); re-export it as JPEG or PNG"
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        msg = str(exc) or type(exc).__name__
        if "truncated" in msg.lower() or "broken data stream" in msg.lower():
            raise ImageLoadError(path, "is truncated or damaged; re-copy it from the source") from None
        raise ImageLoadError(path, f"could not be decoded ({msg}); re-export it as JPEG or PNG") from None
    except MemoryError:
        raise ImageLoadError(path, "is too large to decode in the memory available; downscale it") from None
    except Exception as exc:  # noqa: BLE001 - a decoder bug on a hostile file must stay a per-file error
        raise ImageLoadError(
            path,
            f"could not be decoded ({type(exc).__name__}: {str(exc)[:120]}); re-export it as JPEG or PNG",
        ) from None


def list_images(folder: Path | str, recursive: bool = False) -> list[Path]:
    """Image files under a folder, sorted, following no symlinked folder twice (folder loops are cut).
    A file-named link that cannot be resolved (a loop, a dangling link) is listed: loading it then gives
    a per-file error, so the user learns about it instead of the file silently missing."""
    folder = Path(folder)
    found: list[Path] = []
    seen_dirs: set[str] = set()

    def walk(d: Path) -> None:
        try:
            real = os.path.realpath(d)
        except OSError:
            return
        if real in seen_dirs:
            return
        seen_dirs.add(real)
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            p = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=True):
                    if recursive:
                        walk(p)
                elif p.suffix.lower() in dicomio.DICOM_SUFFIXES or (
                    not p.suffix and dicomio.is_dicom_path(p)
                ):
                    found.extend(dicomio.expand_frames(p))
                elif is_image_file(p):
                    found.append(p)
            except OSError:  # e.g. a symlink loop: list it so the batch names it, instead of hiding it
                if is_image_file(p):
                    found.append(p)

    walk(folder)
    return found
