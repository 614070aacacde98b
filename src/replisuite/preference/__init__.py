"""Study preference: PsychoCounsel\x27s preference pairs, reward models, DPO and win rates."""
