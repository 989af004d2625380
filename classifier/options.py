"""The options that shape a clean shard's output, and how two sets of them differ.

A shard's output depends on its input and on these alone: the policy (labels kept,
foreign text, split by language, minimum length, annotate, input fields), the output
compression, how the input is read (format, text field, id field, size limit), the block model
choice, the models (each file's sha256 from its card) and the template memory (its
sha256). ``clean_shard`` records them in the shard report; a rerun that would skip
a finished shard compares them with its own (``engine.run_clean``). Paths are not
recorded: the same models in another folder make the same output.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cards import sha256_of

if TYPE_CHECKING:
    from .clean import ShardTask

__all__ = ["OPTION_FLAGS", "option_differences", "shard_options"]

#: The command-line option behind each entry of a shard's options, for messages.
OPTION_FLAGS = {
    "keep_labels": "--keep",
    "keep_foreign": "--keep-foreign",
    "split_by_language": "--split-by-language",
    "min_chars": "--min-chars",
    "annotate": "--annotate",
    "drop_fields": "--drop-fields",
    "no_captions": "--no-captions",
    "languages": "--lang",
    "suffix": "--compression",
    "input_format": "--input-format",
    "text_field": "--text-field",
    "id_field": "--id-field",
    "max_bytes": "--max-bytes",
    "model_choice": "--model",
    "models": "--model-dir",
    "templates_sha256": "--templates",
    "publisher": "--publisher",
}


#: Options recorded only when not their default (shards made before they existed
#: resume as they were), and that default, as a difference names it.
_RECORDED_UNLESS = {"id_field": "id"}


def shard_options(task: ShardTask, models: dict[str, str | None]) -> dict[str, Any]:
    """The options of ``task`` that shape its output (see the module docstring), as
    JSON values; ``models`` is ``Sieve.model_identity()`` of the models that label it."""
    return {
        **task.policy.to_dict(),
        "suffix": task.suffix,
        "input_format": task.input_format,
        "text_field": task.text_field,
        "max_bytes": task.max_bytes,
        # only when not the default: shards of a Sieve without --id-field resume as they were
        **({"id_field": task.id_field} if task.id_field != _RECORDED_UNLESS["id_field"] else {}),
        "model_choice": task.model_choice,
        "models": dict(sorted(models.items())),
        "templates_sha256": sha256_of(Path(task.templates)) if task.templates else None,
        # only when given: shards of a Sieve without --publisher resume as they were
        **({"publisher": task.publisher} if task.publisher is not None else {}),
    }


def _shown(key: str, value: Any) -> str:
    if value is None:
        return "none"
    if key == "suffix":
        return {".jsonl.gz": "gz", ".jsonl.zst": "zst", ".jsonl": "none"}.get(str(value), str(value))
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return "+".join(str(v) for v in value) or "none"
    return str(value)


def _without_absent_models(options: dict[str, Any]) -> dict[str, Any]:
    models = options.get("models")
    if not isinstance(models, dict):
        return options
    return {**options, "models": {k: v for k, v in models.items() if v is not None}}


def option_differences(recorded: object, current: dict[str, Any]) -> list[str]:
    """How the options a shard was made with (``recorded``, from its report) differ
    from ``current``, one phrase per option, named by its command-line option:
    ``["--min-chars was 20, now 50"]``; ``[]`` when they are the same."""
    if not isinstance(recorded, dict):
        return ["options not recorded (made by an earlier Sieve)"]
    # a model file a folder does not have is recorded as None; a Sieve that did not
    # look for that file recorded nothing: both say "not used"
    recorded, current = _without_absent_models(recorded), _without_absent_models(current)
    out = []
    for key, now in current.items():
        then = recorded.get(key, _RECORDED_UNLESS.get(key))
        if then == now:
            continue
        flag = OPTION_FLAGS.get(key, key)
        if key == "models":
            old = then if isinstance(then, dict) else {}
            changed = sorted(n for n in {*old, *now} if old.get(n) != now.get(n))
            out.append(f"{flag}: other models ({', '.join(changed)})")
        elif key == "templates_sha256":
            out.append(f"{flag}: {'another template memory' if then and now else 'none before' if now else 'none now'}")
        elif key == "suffix" and ".parquet" in (then, now):  # the output format, not only its compression
            out.append(f"--format was {'parquet' if then == '.parquet' else 'jsonl'}, "
                       f"now {'parquet' if now == '.parquet' else 'jsonl'}")
        else:
            # a flag recorded only when given was off when it is absent
            was = "off" if then is None and isinstance(now, bool) else _shown(key, then)
            out.append(f"{flag} was {was}, now {_shown(key, now)}")
    for key in recorded.keys() - current.keys():  # an option given then (recorded only when given), not now
        if key in OPTION_FLAGS and recorded[key] is not None:
            now_shown = ("off" if isinstance(recorded[key], bool)
                         else _RECORDED_UNLESS.get(key, "none"))
            out.append(f"{OPTION_FLAGS[key]} was {_shown(key, recorded[key])}, now {now_shown}")
    if not out and recorded != current:
        out.append("options recorded by another Sieve version")
    return out
