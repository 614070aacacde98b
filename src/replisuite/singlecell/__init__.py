"""Single-cell building blocks (the trpm4 study builds on these)."""
