"""PyInstaller's entry script for app_gui (the package's __main__ uses relative imports, a script cannot)."""

import sys

from app_gui.__main__ import main

sys.exit(main())
