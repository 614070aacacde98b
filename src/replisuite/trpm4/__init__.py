"""Study trpm4: the CEP-IP framework (TRPM4-Ribo GAMs, cell explanatory power, inflection point, GO)."""
