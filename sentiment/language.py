"""Language identification with ``langdetect`` (ships its own profiles; works offline).

Example:
    >>> detect_languages(["The courier never came", "Kurier w ogóle nie przyjechał", "??"])
    ['en', 'pl', 'und']
"""

from __future__ import annotations

from typing import Iterable

UNDETERMINED = "und"


def _factory():
    from langdetect import DetectorFactory
    from langdetect.detector_factory import init_factory, _factory as loaded

    DetectorFactory.seed = 0  # langdetect is random without a seed
    if loaded is None:
        init_factory()
    from langdetect import detector_factory

    return detector_factory._factory


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text's language, or ``"und"`` when there is too little text to tell."""
    from langdetect.lang_detect_exception import LangDetectException

    letters = sum(ch.isalpha() for ch in text)
    if letters < 3:
        return UNDETERMINED
    detector = _factory().create()
    detector.append(text[:2000])
    try:
        return detector.detect().split("-")[0]
    except LangDetectException:
        return UNDETERMINED


def detect_languages(texts: Iterable[str]) -> list[str]:
    """:func:`detect_language` for each text, in order."""
    return [detect_language(str(t)) for t in texts]
