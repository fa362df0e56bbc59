import pytest

from speechtl.config import ConfigError, apply_overrides
from speechtl.errors import SpeechtlError
from speechtl.training import TrainConfig


def test_typed_overrides_reach_nested_fields():
    c = apply_overrides(TrainConfig(), ["max_steps=7", "precision=bf16", "progress=off", "mask_time_prob=0.2",
                                        "freeze.trainable_layers=all", "freeze.lr_head=0.01"])
    assert (c.max_steps, c.precision, c.progress, c.mask_time_prob) == (7, "bf16", False, 0.2)
    assert c.freeze.trainable_layers == "all" and c.freeze.lr_head == 0.01
    assert apply_overrides(c, ["freeze.trainable_layers=3"]).freeze.trainable_layers == 3
    assert TrainConfig().max_steps != 7  # the default is untouched


@pytest.mark.parametrize("item,message", [
    ("max_steps", "not key=value"),
    ("nope=1", "unknown setting 'nope'"),
    ("max_steps=many", "cannot use 'many'"),
    ("progress=maybe", "cannot use 'maybe'"),
    ("freeze.trainable_layers=some", "cannot use 'some'"),
    ("max_steps.x=1", "has no sub-settings"),
])
def test_bad_overrides(item, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides(TrainConfig(), [item])


def test_a_tuple_of_optional_numbers_takes_none():
    from speechtl.recipe.config import RecipeConfig

    c = apply_overrides(RecipeConfig(), ["two_pass.prompt_gains=none,0.5", "two_pass.top_terms=4,8"])
    assert (c.two_pass.prompt_gains, c.two_pass.top_terms) == ((None, 0.5), (4, 8))
    with pytest.raises(ConfigError, match="cannot use 'x'"):
        apply_overrides(RecipeConfig(), ["two_pass.prompt_gains=x"])


def test_recipe_settings_come_in_groups_and_empty_means_off():
    from speechtl.recipe.config import RecipeConfig

    c = apply_overrides(RecipeConfig(), ["data.hours=1.5", "lm.order=3", "decoding.beam_width=4",
                                         "two_pass.writers=", "two_pass.max_rtf=0.2", "data.longform=none"])
    assert (c.data.hours, c.lm.order, c.decoding.beam_width, c.two_pass.max_rtf) == (1.5, 3, 4, 0.2)
    assert c.two_pass.writers is None and c.data.longform is None  # off is None, not ""
    assert c.changed(data__hours=2.0, seed=3).data.hours == 2.0 and RecipeConfig().data.hours == 0.5
    with pytest.raises(ConfigError, match="did you mean data.hours"):  # a setting named without its group
        apply_overrides(RecipeConfig(), ["hours=1"])
    with pytest.raises(SpeechtlError, match="beam_width must be at least 1"):
        apply_overrides(RecipeConfig(), ["decoding.beam_width=0"])


def test_an_optional_group_is_turned_off_and_on_again():
    from speechtl.recipe.config import RecipeConfig
    from speechtl.training.writer import WriterConfig

    off = apply_overrides(RecipeConfig(), ["writer=none"])
    assert off.writer is None
    on = apply_overrides(off, ["writer.steps=40"])  # a sub-setting turns it on, the rest at defaults
    assert on.writer == WriterConfig(steps=40)
    with pytest.raises(ConfigError, match="cannot use 'x'"):
        apply_overrides(off, ["writer.steps=x"])


def test_the_cpu_preset_leaves_the_writer_stage_off_and_a_setting_turns_it_on():
    from speechtl.recipe.config import preset
    from speechtl.recipe.writer import adapts_writer

    cpu, gpu = preset("legal", "cpu"), preset("legal", "gpu")
    assert cpu.writer is None and not adapts_writer(cpu)
    assert adapts_writer(gpu)
    assert adapts_writer(apply_overrides(cpu, ["writer.steps=30"]))
