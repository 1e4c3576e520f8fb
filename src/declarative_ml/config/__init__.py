"""Config schemas, their registration with Hydra, and validation of a composed config."""
