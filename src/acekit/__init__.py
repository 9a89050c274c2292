"""acekit: stand up ACE-Step 1.5 as a REST backend for a DAW plugin, drive it, judge what it produces."""

from acekit.keys import Key, KeyParseError, parse_key

__version__ = "0.1.0"
__all__ = ["Key", "KeyParseError", "parse_key", "__version__"]
