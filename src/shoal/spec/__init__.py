"""The Segment message model: validation, normalisation and file formats."""
