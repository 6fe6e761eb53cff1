"""Data the tests and benches read, kept in the repository so that a clone alone passes; README.md here says
where each file comes from and under which licence."""

from pathlib import Path

DATA = Path(__file__).resolve().parent
