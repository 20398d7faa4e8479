"""Analysis over many runs: sweeps, reports, the study's findings, validation checks, bench."""
