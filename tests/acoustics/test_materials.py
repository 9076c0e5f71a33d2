"""Tests for the acoustic materials table and the Material type."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from soundstage.acoustics.materials import (
    Material,
    get_material,
    list_materials,
    material_table,
    reflection_coefficients,
)
from soundstage.constants import OCTAVE_BANDS
from soundstage.errors import InvalidMaterialError, SoundstageError

SRC_JSON = Path(__file__).resolve().parents[2] / "src" / "soundstage" / "acoustics" / "materials.json"
REQUIRED = [
    "plaster", "concrete", "brick", "glass", "wood", "carpet", "curtains",
    "acoustic_panel", "tiles", "audience", "hard_surface", "water_surface", "grass",
]  # fmt: skip
BAD_VALUES = [-0.1, 1.2, math.nan, math.inf]


@pytest.fixture(scope="module")
def table() -> dict:
    return material_table()


def _pra_materials_file() -> Path | None:
    spec = importlib.util.find_spec("pyroomacoustics")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "materials.json"
    return path if path.exists() else None


# ---------------------------------------------------------------- table contents


def test_table_is_large_and_holds_the_names_the_cli_uses(table):
    names = list_materials()
    assert len(names) >= 35
    assert names == sorted(table["materials"])
    for name in REQUIRED:
        assert name in names


def test_bands_match_the_package_octave_bands(table):
    assert tuple(table["bands_hz"]) == OCTAVE_BANDS


def test_packaged_table_is_the_source_file(table):
    assert table == json.loads(SRC_JSON.read_text(encoding="utf-8"))


def test_every_entry_is_valid_and_cited(table):
    sources = table["sources"]
    for key, citation in sources.items():
        assert len(citation) > 60, key
    for name, entry in table["materials"].items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        assert entry["source"] in sources, name
        assert entry["scattering_source"] in sources, name
        assert entry["description"] and entry["notes"] and entry["source_entry"], name
        for quantity in ("absorption", "scattering"):
            values = entry[quantity]
            assert len(values) == len(OCTAVE_BANDS), (name, quantity)
            in_range = all(isinstance(v, (int, float)) and 0.0 <= v <= 1.0 for v in values)
            assert in_range, (name, quantity)
        material = get_material(name)
        assert material.absorption == tuple(entry["absorption"])
        assert material.scattering == tuple(entry["scattering"])
        assert material.source == entry["source"]


def test_default_scattering_is_the_named_category_default(table):
    defaults = table["scattering_defaults"]
    for name, entry in table["materials"].items():
        if entry["scattering_source"] == "soundstage_defaults":
            assert entry["scattering"] == defaults[entry["scattering_entry"]]["values"], name
    for key, default in defaults.items():
        values = default["values"]
        assert all(b >= a for a, b in zip(values, values[1:])), key  # never falls with frequency


def test_filled_8khz_band_repeats_4khz_and_says_so(table):
    filled = 0
    for name, entry in table["materials"].items():
        assert entry["hz8000"] in ("given", "repeats_4000"), name
        if entry["hz8000"] == "repeats_4000":
            filled += 1
            assert entry["absorption"][6] == entry["absorption"][5], name
            assert "8000 Hz repeats 4000 Hz" in entry["notes"], name
        else:
            assert "8000 Hz" in entry["notes"] or "8 kHz" in entry["notes"], name
    assert filled > 0


@pytest.mark.parametrize(
    ("name", "published"),
    [
        # Vorländer (2008) appendix, as printed in pyroomacoustics' transcription.
        ("carpet_cotton", [0.07, 0.31, 0.49, 0.81, 0.66, 0.54, 0.48]),
        ("lime_wash", [0.02, 0.03, 0.04, 0.05, 0.04, 0.03, 0.02]),
        ("audience", [0.60, 0.74, 0.88, 0.96, 0.93, 0.85, 0.85]),
        ("hard_surface", [0.02, 0.02, 0.03, 0.03, 0.04, 0.05, 0.05]),
        ("ceiling_tile", [0.49, 0.53, 0.53, 0.75, 0.92, 0.99, 0.99]),  # 8 kHz filled
        # Resonance Audio kRoomMaterials, 125 Hz to 8 kHz columns.
        ("water_surface", [0.008, 0.008, 0.013, 0.015, 0.020, 0.025, 0.050]),
        ("plaster", [0.013, 0.015, 0.020, 0.030, 0.040, 0.050, 0.100]),
    ],
)
def test_published_values_are_reproduced(name, published):
    assert get_material(name).absorption == pytest.approx(published, abs=1e-12)


def test_audience_scattering_is_vorlanders_theatre_audience_entry():
    assert get_material("audience").scattering == pytest.approx([0.3, 0.5, 0.6, 0.6, 0.7, 0.7, 0.7])


def test_vorlander_entries_match_the_pyroomacoustics_transcription(table):
    path = _pra_materials_file()
    if path is None:
        pytest.skip("pyroomacoustics is not installed")
    pra = json.loads(path.read_text(encoding="utf-8"))
    absorption = {k: e["coeffs"] for group in pra["absorption"].values() for k, e in group.items()}
    scattering = {k: e["coeffs"] for group in pra["scattering"].values() for k, e in group.items()}
    checked = 0
    for name, entry in table["materials"].items():
        if entry["source"] != "vorlander2008":
            continue
        published = absorption[entry["source_entry"]]
        assert entry["absorption"][: len(published)] == pytest.approx(published), name
        assert (len(published) == 7) == (entry["hz8000"] == "given"), name
        if entry["scattering_source"] == "vorlander2008":
            assert entry["scattering"] == pytest.approx(scattering[entry["scattering_entry"]]), name
        checked += 1
    assert checked >= 30


# ---------------------------------------------------------------- physics of the data


def test_absorption_ranks_like_the_surfaces_do():
    def mean(name: str) -> float:
        return float(np.mean(get_material(name).absorption))

    assert mean("hard_surface") < 0.05 and mean("tiles") < 0.05 and mean("water_surface") < 0.05
    assert mean("concrete") < mean("carpet") < mean("acoustic_panel")
    assert mean("glass") < mean("curtains") < mean("audience")
    hard = np.array(get_material("hard_surface").absorption)
    assert np.all(np.array(get_material("audience").absorption) > hard)


def test_spectral_shapes_follow_the_absorber_type():
    for porous in ("carpet", "curtains", "acoustic_panel", "rockwool", "grass"):
        a = get_material(porous).absorption
        assert a[4] - a[0] > 0.25, porous  # porous: 2 kHz well above 125 Hz
    for panel in ("glass", "glass_3mm", "plasterboard", "plywood", "wooden_lining"):
        a = get_material(panel).absorption
        assert a[0] > a[5], panel  # membrane/panel: strongest at 125 Hz


def test_sabine_reverberation_times_are_plausible():
    volume, area = 5.0 * 4.0 * 3.0, 2 * (5 * 4 + 5 * 3 + 4 * 3)

    def rt60_1k(name: str) -> float:
        return 0.161 * volume / (area * get_material(name).absorption[3])

    assert rt60_1k("hard_surface") > 3.0
    assert rt60_1k("acoustic_panel") < 0.2
    assert rt60_1k("concrete") > rt60_1k("plaster") > rt60_1k("carpet")


# ---------------------------------------------------------------- Material validation


@pytest.mark.parametrize("quantity", ["absorption", "scattering"])
@pytest.mark.parametrize("index", range(len(OCTAVE_BANDS)))
@pytest.mark.parametrize("bad", BAD_VALUES)
def test_out_of_range_value_names_material_band_and_value(quantity, index, bad):
    values = [0.1] * len(OCTAVE_BANDS)
    values[index] = bad
    kwargs = {"absorption": (0.1,) * 7, "scattering": (0.0,) * 7, quantity: tuple(values)}
    with pytest.raises(InvalidMaterialError) as info:
        Material(name="test_wall", **kwargs)
    message = str(info.value)
    assert "test_wall" in message and quantity in message
    assert f"at {OCTAVE_BANDS[index]} Hz" in message and repr(bad) in message
    assert isinstance(info.value, SoundstageError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("length", [0, 6, 8])
def test_wrong_length_lists_the_bands(length):
    with pytest.raises(InvalidMaterialError) as info:
        Material("short", absorption=(0.1,) * length, scattering=(0.0,) * 7)
    message = str(info.value)
    assert f"has {length} values" in message and "125 Hz" in message and "8000 Hz" in message


@pytest.mark.parametrize("values", ["0.1", 0.1, None, ("a",) * 7, (True,) * 7])
def test_non_sequences_and_non_numbers_are_rejected(values):
    with pytest.raises(InvalidMaterialError):
        Material("odd", absorption=values, scattering=(0.0,) * 7)


def test_material_is_frozen_hashable_and_stores_plain_floats():
    m = Material("m", absorption=np.linspace(0.1, 0.7, 7), scattering=[0, 0, 0, 0, 0, 0, 1])
    assert isinstance(m.absorption, tuple) and all(type(v) is float for v in m.absorption)
    assert m.scattering[-1] == 1.0 and m.absorption[0] == pytest.approx(0.1)
    assert m == Material("m", absorption=tuple(m.absorption), scattering=m.scattering)
    assert len({m, Material("m", m.absorption, m.scattering)}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.name = "other"  # type: ignore[misc]


def test_uniform_and_from_values_broadcast_scalars():
    u = Material.uniform(0.25, 0.1)
    assert u.absorption == (0.25,) * 7 and u.scattering == (0.1,) * 7 and u.name == "uniform_0.25"
    assert Material.uniform(0.5, name="half").name == "half"
    v = Material.from_values([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], 0.2, name="ramp", source="test")
    assert v.absorption[6] == 0.7 and v.scattering == (0.2,) * 7 and v.source == "test"
    assert Material.from_values(0.3).scattering == (0.0,) * 7


@pytest.mark.parametrize("bad", BAD_VALUES)
def test_uniform_rejects_out_of_range_scalars(bad):
    with pytest.raises(InvalidMaterialError, match="125 Hz to 8000 Hz"):
        Material.uniform(bad)
    with pytest.raises(InvalidMaterialError, match="scattering"):
        Material.uniform(0.2, scattering=bad)


# ---------------------------------------------------------------- lookup


def test_get_material_accepts_objects_names_and_numbers():
    m = Material.uniform(0.4)
    assert get_material(m) is m
    assert get_material("carpet") is get_material("carpet")
    assert get_material("Acoustic-Panel") == get_material("acoustic_panel")
    assert get_material(" hard surface ") == get_material("hard_surface")
    assert get_material(0.2) == Material.uniform(0.2)


@pytest.mark.parametrize("text", ["0.3", " 0.3 ", "3e-1", ".3"])
def test_numeric_string_is_uniform_absorption(text):
    m = get_material(text)
    assert m.absorption == (0.3,) * 7 and m.scattering == (0.0,) * 7


@pytest.mark.parametrize("text", ["1.2", "-0.1", "nan", "inf"])
def test_numeric_string_out_of_range_raises(text):
    with pytest.raises(InvalidMaterialError, match=r"\[0, 1\]"):
        get_material(text)


@pytest.mark.parametrize(
    ("typo", "suggestion"), [("concret", "concrete"), ("carpett", "carpet"), ("curtain", "curtains")]
)
def test_unknown_name_suggests_close_names(typo, suggestion):
    with pytest.raises(InvalidMaterialError) as info:
        get_material(typo)
    message = str(info.value)
    assert repr(typo) in message and repr(suggestion) in message and "list_materials()" in message


def test_unknown_name_without_neighbours_still_says_how_to_list():
    with pytest.raises(InvalidMaterialError, match=r"list_materials\(\)") as info:
        get_material("zzzzqqq")
    assert "did you mean" not in str(info.value)


@pytest.mark.parametrize("bad", [None, True, [0.1] * 7])
def test_get_material_rejects_other_types(bad):
    with pytest.raises(InvalidMaterialError, match="expected a Material"):
        get_material(bad)


def test_material_table_returns_an_independent_copy():
    first = material_table()
    first["materials"]["carpet"]["absorption"][0] = 0.99
    first["sources"].clear()
    again = material_table()
    assert again["materials"]["carpet"]["absorption"][0] == 0.08 and again["sources"]
    assert get_material("carpet").absorption[0] == 0.08


# ---------------------------------------------------------------- reflection


def test_reflection_coefficients_conserve_energy():
    for name in list_materials():
        alpha = get_material(name).absorption
        r = reflection_coefficients(name)
        assert r.shape == (7,) and r.dtype == np.float64
        naive = [math.sqrt(1.0 - a) for a in alpha]
        np.testing.assert_allclose(r, naive, rtol=0, atol=1e-15)
        np.testing.assert_allclose(r**2 + np.array(alpha), 1.0, atol=1e-12)


def test_reflection_falls_as_absorption_rises():
    r = [reflection_coefficients(Material.uniform(a))[0] for a in np.linspace(0.0, 1.0, 11)]
    assert r[0] == 1.0 and r[-1] == 0.0 and all(b < a for a, b in zip(r, r[1:]))
    assert np.all(reflection_coefficients("hard_surface") > 0.97)
    assert np.all(reflection_coefficients("0.36") == pytest.approx(0.8))
