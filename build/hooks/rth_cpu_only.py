"""PyInstaller runtime hook of the "cpu" bundle variant: hide every GPU before torch is imported.

That variant leaves out the libraries only a GPU run loads (cuDNN's engines, cuSOLVER), so torch must
never pick a GPU: with no device visible, `auto` means the CPU and `--device cuda` says plainly that no
GPU is available, instead of failing later inside a missing library.
"""

import os

os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ["MEDGRAD_BUNDLE_VARIANT"] = "cpu"
