"""Text models: sentiment, sentence embeddings, topics and language."""

from voxlens.sentiment.encoder import Encoder
from voxlens.sentiment.model import LABELS, SentimentModel

__all__ = ["Encoder", "LABELS", "SentimentModel"]
