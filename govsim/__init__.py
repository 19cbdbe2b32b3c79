"""govsim: agent-based simulation of technology-embedded urban governance in megacities."""

__version__ = "0.1.0"
