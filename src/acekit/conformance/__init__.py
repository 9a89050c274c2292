"""Conformance tier: acekit's every surface against upstream ACE-Step's own API server.

Upstream's server runs from a source tree on CPU in a separate cached venv, with only the model
calls replaced by stand-ins that record what upstream built (``launcher.py``); the checks compare
that with what the user asked for. See ``acekit conformance --help`` and docs/bringup.md.
"""

from acekit.conformance.checks import Check, Expectation, compare
from acekit.conformance.runner import SURFACES, ConformanceReport, run_conformance

__all__ = ["SURFACES", "Check", "ConformanceReport", "Expectation", "compare", "run_conformance"]
