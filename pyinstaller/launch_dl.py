"""PyInstaller's entry script for app_dl (the package's __main__ uses relative imports, a script cannot)."""

import sys

from app_dl.__main__ import main

sys.exit(main())
