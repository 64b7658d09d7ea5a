"""PyInstaller runtime hook: runs inside the frozen app before main.py.

- The app is offline by design: a missing Hugging Face cache must fail at once, never try the network.
- `torch.compile` is never used and triton is not bundled: say so to torch, so nothing tries to JIT.
- `MEDGRAD_STARTUP_TRACE=<file>` (set only by benchmarks/startup.py) records when the window is shown
  and when the first prediction arrives, by the same code the benchmark uses for a source run.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")

if os.environ.get("MEDGRAD_STARTUP_TRACE"):
    import medgrad_startup_trace

    medgrad_startup_trace.install(os.environ["MEDGRAD_STARTUP_TRACE"])
