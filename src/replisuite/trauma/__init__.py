"""Study trauma: Thousand Voices of Trauma (PE phase dialogues, SUDS trajectories, benchmark)."""
