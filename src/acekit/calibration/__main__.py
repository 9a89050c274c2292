"""``python -m acekit.calibration [OUT_DIR] [--workers N]``: render the calibration set."""

from acekit.calibration.build import main

raise SystemExit(main())
