"""The node's HTTP surface: one FastAPI app that each feature adds its router to."""
