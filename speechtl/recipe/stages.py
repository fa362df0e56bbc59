"""Which finished stages a recipe rerun keeps: each stage's marker
(``{work_dir}/stages/{stage}.json``) holds its outputs, the settings it read
(``STAGE_SETTINGS``) and when the stages it reads (``STAGE_INPUTS``) finished; a stage runs
again where one of those settings changed or one of those stages ran again since.

    why = why_again("lm", marker, stage_settings("lm", old), stage_settings("lm", new), inputs, ran)
"""

from __future__ import annotations

from typing import Any

STAGES = ("data", "base", "train", "lm", "writer", "two_pass", "evaluate", "report")
# the settings each stage reads (top-level names or dotted sub-settings); a change to one
# runs that stage again, and so every stage that reads it (STAGE_INPUTS)
STAGE_SETTINGS: dict[str, tuple[str, ...]] = {
    "data": ("domain", "data_dir", "terms", "seed", "data", "writer"),  # writer: whether on (stage_settings)
    "base": ("base", "preset"),
    "train": ("train",),
    "lm": ("lm", "decoding", "terms", "seed"),
    "writer": ("writer", "two_pass.writers"),
    "two_pass": ("two_pass", "terms"),
    "evaluate": ("evaluate_base", "terms", "seed", "preset", "data.real_test_utterances"),
    "report": (),
}
# the stages whose outputs each stage reads (the two-pass reads the LM saved beside the model,
# the writer puts its folder in the adapted model's)
STAGE_INPUTS: dict[str, tuple[str, ...]] = {
    "data": (), "base": (), "train": ("data", "base"), "lm": ("data", "train"), "writer": ("data", "train"),
    "two_pass": ("data", "train", "lm", "writer"), "evaluate": ("data", "base", "train", "lm", "two_pass"),
    "report": ("data", "base", "train", "lm", "writer", "two_pass", "evaluate"),
}
# what a marker holds beside its stage's outputs (no output may have a field of these names)
MARKER_KEYS = {"paths", "seconds", "stage_finished", "stage_settings", "stage_inputs"}
# settings that change how a stage runs, not what it makes, or that only a later stage reads
# (real_test_utterances: how many held-out real speakers' clips the evaluate stage scores)
NO_EFFECT = {"data.real_test_utterances", "data.synth_workers", "train.output_dir", "train.progress",
             "train.num_workers", "train.eval_batch_size", "train.cache_dir", "train.cache_max_gb", "train.overwrite", "writer.output_dir", "writer.progress"}


def stage_settings(name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The settings stage ``name`` reads, by dotted name, from a run's settings (as saved in
    recipe-config.json), less those with no effect on what it makes (``NO_EFFECT``)."""
    out: dict[str, Any] = {}
    for key in STAGE_SETTINGS[name]:
        value: Any = settings
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if name == "data" and key == "writer":
            # the data stage reads only whether the writer is on, and only without long-form sets (longform_sets)
            value = value is not None and (settings.get("data") or {}).get("longform") is None
        if isinstance(value, dict):  # a section: less what it holds for another stage or no stage
            value = {k: v for k, v in value.items() if f"{key}.{k}" not in NO_EFFECT}
        out[key] = value
    return out


def changed_settings(old: dict, new: dict, prefix: str = "") -> list[str]:
    """``section.name: old -> new`` for every setting that differs between two saved configs."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += changed_settings(a, b, f"{prefix}{key}.")
        elif a != b:
            shown = [f"{{{len(v)} settings}}" if isinstance(v, dict) else repr(v) for v in (a, b)]
            out.append(f"{prefix}{key}: {shown[0]} -> {shown[1]}")
    return out


def why_again(name: str, saved: dict, before: dict[str, Any], settings: dict[str, Any], inputs: dict[str, str],
              ran: set[str]) -> str:
    """Why a finished stage must run again ("" when it need not): its marker ``saved``; the
    settings it read then (``before``) and now; when its inputs finished now (``inputs``);
    the stages this run ran (``ran``). A setting it reads changed, or a stage it reads ran
    again after it (in this run, or in one stopped before this stage)."""
    changed = changed_settings(before, settings)
    if changed:
        return "its settings changed (" + "; ".join(changed) + ")"
    again = [i for i in STAGE_INPUTS[name]
             if i in ran or ("stage_inputs" in saved and saved["stage_inputs"].get(i) != inputs[i])]
    return f"{', '.join(again)} ran again since it did" if again else ""
