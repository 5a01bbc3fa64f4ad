"""The Hugging Face transformers versions this instrumentor supports."""

_instruments = ("transformers >= 4.30",)
