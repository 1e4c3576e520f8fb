"""What a logged model runs at serving time (copied into every model artifact)."""
