"""The bounds of every input the tool accepts, in one place: the API validates with them and serves them
(GET /api/model, "limits"), and the page reads them from there. Plain numbers; imports nothing."""
from __future__ import annotations

# Routing iterations a request may ask for (the paper uses 3; the model config holds the default).
ROUTING_ITERATIONS_MIN, ROUTING_ITERATIONS_MAX = 1, 10
# Capsule vectors have length < 1, so every component lies in (-1, 1); the decoder sliders may push a
# little past.
VECTOR_LIMIT = 2.0
# /api/evidence: how many digits side by side, and how long a list of top capsules each.
EVIDENCE_DIGITS_MAX = 2
EVIDENCE_TOP_MAX, EVIDENCE_TOP_DEFAULT = 50, 10
# Overlapping digits are shifted by up to this many pixels in each direction, as MultiMNIST.
OVERLAP_SHIFT_LIMIT = 4
# Pixels decoded at most: refuses decompression bombs before any pixel is decoded; covers any phone photo.
IMAGE_PIXELS_MAX = 40_000_000
