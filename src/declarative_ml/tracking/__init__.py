"""Everything that writes to MLflow tracking: store, run lifecycle, params, inputs, model."""
