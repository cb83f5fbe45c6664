"""``../knowledge_density_prior/bundle_alone.py`` (the lifelong benchmark's ``bundle-alone``
way for one ordering) with ``design_only.py`` applied first; same arguments."""

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import design_only  # noqa: E402,F401

spec = importlib.util.spec_from_file_location("bundle_alone", HERE.parent / "knowledge_density_prior" / "bundle_alone.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.main()
