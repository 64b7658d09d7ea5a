"""MedGrad Desktop: starts the GUI, nothing else. `python main.py [FOLDER] [--self-test]`."""

import sys

from medgrad_desktop.ui.launch import main

if __name__ == "__main__":
    sys.exit(main())
