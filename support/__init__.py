"""Helpers shared by the tests and the benchmarks (not part of the app): a live app server,
Debian's chromium, and digits drawn onto canvases the way a browser hands them over."""
