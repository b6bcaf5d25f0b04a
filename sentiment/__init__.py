"""Text models: sentiment, sentence embeddings, topics and language."""

from sentiment.encoder import Encoder
from sentiment.model import LABELS, SentimentModel

__all__ = ["Encoder", "LABELS", "SentimentModel"]
