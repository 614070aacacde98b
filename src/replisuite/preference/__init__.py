"""Study preference: PsychoCounsel's preference pairs, reward models, DPO and win rates."""
