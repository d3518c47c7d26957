"""Agent evals: cases, the matching rules, and runners for the model alone and the agent."""
