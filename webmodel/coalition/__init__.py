"""The coalition and its inputs: parameters, scenarios, the bill of materials, the firms'
network and how it is wired (topologies), disruptions, and re-sourcing."""
