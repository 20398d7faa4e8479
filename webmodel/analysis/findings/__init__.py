"""The study's findings: the numbers and figures behind ``results/FINDINGS.md``.

``webmodel findings`` reads the results of the study's sweeps (``experiments/*.toml``, run with
``webmodel sweep``) and writes ``results/findings/tables.md`` and its figures; the validation
checks that need runs of their own (the 155mm ramp) run here too.
"""

from webmodel.analysis.findings.build import write_findings

__all__ = ["write_findings"]
