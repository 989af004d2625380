"""What a block model's card must say for this Sieve to load the model: its format
and the features version it was trained on, with the scikit-learn minor version
(``cards.check_sklearn_version``). Neither NumPy nor scikit-learn is imported here: a
process that only dispatches work to others (``sieve clean --workers N``) checks the
cards with this before any worker starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .cards import check_card_file, check_sklearn_version
from .errors import ModelError

#: What a block model file is (``joblib.dump`` of a ``model.BlockModel``).
MODEL_FORMAT = "sieve-block-model/1"

#: Bumped whenever a feature changes meaning or order: a model trained on another
#: version is refused at load time instead of giving quietly wrong answers.
# 5: cls_comment ignores <html>/<body> classes and "commentary"; 6: the HTML model's
# container context over Block.path; 7: the DOM facts of a block's local container.
# 6 and 7 change only what the HTML model reads: a text model of version 5 or 6
# still labels (see features_compatible); 8: the boilerplate and navigation
# lexicons (two shape columns, so every model of an earlier version is refused); 9: two
# Han or kana characters count as a word in the block shape (a model of version 8 is
# given version 8's counts, and labels as it did); 10: a word goes on through its
# combining marks (Indic vowel signs: letters, not punctuation), Thai, Lao, Myanmar and
# Khmer are words of four characters, other scripts' full stops (the danda) end
# sentences and their commas count: Hindi stories were read as menus (a model of
# version 8 or 9 is given its version's shapes)
FEATURES_VERSION = 10


RETRAIN = "retrain it with `sieve train`"


def features_compatible(version: object, use_dom: bool, container_context: bool = False) -> bool:
    """Whether a model trained on features ``version`` can label with this Sieve
    (version 8 added shape columns that every model reads; a model of version 8 or 9 is
    given its version's block shapes, ``features.block_shape``)."""
    return version in (8, 9, FEATURES_VERSION)


def check_block_model_card(path: Path, card: dict[str, Any]) -> None:
    """What a block model's card says (not the file's bytes: ``cards.verify_file``):
    the file it names, the model format, features version and scikit-learn minor
    version are this Sieve's.

    Raises:
        ModelError: naming the file and what to do.
    """
    check_card_file(path, card)
    if card.get("model_format") != MODEL_FORMAT:
        raise ModelError(f"{path}: model format {card.get('model_format')!r}, this Sieve reads "
                         f"{MODEL_FORMAT!r}; retrain with `sieve train`")
    params = card.get("params") or {}
    if not isinstance(params, dict):
        raise ModelError(f"{path}: its card's params are {type(params).__name__}, not an object; restore the card "
                         "from the folder it came from, or retrain")
    if not features_compatible(card.get("features_version"), bool(params.get("use_dom", False)),
                               bool(params.get("container_context", False))):
        raise ModelError(f"{path} was trained on features version {card.get('features_version')!r}, this Sieve "
                         f"computes version {FEATURES_VERSION}; {RETRAIN}")
    check_sklearn_version(path, card, RETRAIN)


ADAPTER_FORMAT = "sieve-publisher-adapter/2"
#: Formats of earlier Sieves, refused with the reason.
OLD_ADAPTER_FORMATS = {
    "sieve-publisher-adapter/1": "its block memory set a label seen once on every copy of the text, whatever the "
                                 "publisher and the block's role (a headline labelled content made every link to "
                                 "it content)",
}
#: The model file each kind of adapter adjusts (``model.BLOCK_MODEL_FILE``, ``model.HTML_MODEL_FILE``).
BASE_MODEL_FILES = {"text": "blocks.joblib", "html": "html.joblib"}
_ADAPT_AGAIN = "adapt again with `sieve train --base`"


def check_adapter_card(path: Path, card: dict[str, Any], model_dir: Path | None = None) -> None:
    """What a publisher adapter's card says (not the file's bytes: ``cards.verify_file``):
    the file it names, the adapter format and scikit-learn version are this Sieve's, and
    with ``model_dir`` the model it adjusts there is the one it was fitted on (its card's
    ``base_model_sha256``): probabilities of another model, say a retrained HTML model
    copied into the folder, would be blended with weights chosen for the old one, without
    a word. Adapters written before the card named the model are not checked there.

    Raises:
        ModelError: naming the file and what to do.
    """
    from .cards import read_card

    check_card_file(path, card)
    found = card.get("model_format")
    if isinstance(found, str) and found in OLD_ADAPTER_FORMATS:
        raise ModelError(f"{path}: an adapter of an earlier Sieve ({found}; this one reads {ADAPTER_FORMAT}): "
                         f"{OLD_ADAPTER_FORMATS[found]}; {_ADAPT_AGAIN}")
    if found != ADAPTER_FORMAT:
        raise ModelError(f"{path}: adapter format {found!r}, this Sieve reads {ADAPTER_FORMAT!r}; {_ADAPT_AGAIN}")
    check_sklearn_version(path, card, _ADAPT_AGAIN)
    fitted_on = card.get("base_model_sha256")
    if model_dir is not None and fitted_on:
        name = BASE_MODEL_FILES.get(str(card.get("base_model", "text")), BASE_MODEL_FILES["text"])
        current = read_card(model_dir / name).get("sha256") if (model_dir / name).is_file() else None
        if current != fitted_on:
            raise ModelError(f"{path} was fitted on another {name} (sha256 {str(fitted_on)[:12]}, the folder's is "
                             f"{str(current)[:12] if current else 'missing'}): {_ADAPT_AGAIN}")
