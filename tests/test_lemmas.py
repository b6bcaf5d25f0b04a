"""Lemmas in each item's language: inflected forms become one word, other words stay as written."""

import numpy as np
import pytest

from voxlens.sentiment.lemmas import lemmatised


def test_each_text_is_lemmatised_in_its_own_language():
    texts = ["Paczki nie dotarły", "Paczka dotarła", "The parcels arrived", "parcel"]
    assert lemmatised(texts, langs=["pl", "pl", "en", "en"]) == [
        "paczka nie dotrzeć", "paczka dotrzeć", "the parcel arrive", "parcel"]


def test_unknown_languages_try_english_then_polish_and_uncovered_ones_stay_as_written():
    assert lemmatised(["bags zwrotu"], langs=[None]) == ["bag zwrot"]
    assert lemmatised(["bags zwrotu"], langs=[np.nan]) == ["bag zwrot"]
    assert lemmatised(["bags zwrotu"], langs=["und"]) == ["bag zwrot"]      # undetermined by language detection
    assert lemmatised(["bags zwrotu"]) == ["bag zwrot"]
    assert lemmatised(["Bags zwrotu"], langs=["xx"]) == ["bags zwrotu"]
    assert lemmatised(["bags"], langs=["en-GB"]) == ["bag"]


def test_stop_words_are_dropped_as_written_and_missing_texts_are_empty():
    assert lemmatised(["The bags were lost", None], langs=["en", "en"], stop_words={"the", "were"}) == ["bag lose", ""]


def test_one_language_per_text():
    with pytest.raises(ValueError, match="one per text"):
        lemmatised(["a", "b"], langs=["en"])
