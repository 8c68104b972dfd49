"""Pictures and one self-contained HTML page for a run folder."""

from neuralab.report.html import write_report

__all__ = ["write_report"]
