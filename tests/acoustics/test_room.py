"""Room geometry, reverberation formulas and air absorption."""

import numpy as np
import pytest

from soundstage.acoustics.air import air_attenuation_db
from soundstage.acoustics.materials import Material
from soundstage.acoustics.room import SURFACES, AirConditions, Room
from soundstage.constants import SPEED_OF_SOUND
from soundstage.errors import InvalidGeometryError, InvalidMaterialError


def test_iso_9613_table_values():
    # ISO 9613-1 Table 1, 20 °C, 50 % RH, 101.325 kPa, dB/km at 125 Hz .. 8 kHz.
    table = np.array([0.44, 1.31, 2.73, 4.66, 9.86, 29.7, 105.0])
    assert np.allclose(air_attenuation_db() * 1000, table, rtol=0.02)


def test_eyring_and_sabine_by_hand():
    room = Room.shoebox((8, 6, 3), Material.uniform(0.2), air=None)
    volume, area = 144.0, 2 * (48 + 24 + 18)
    sabine = 0.161 * volume / (area * 0.2)
    eyring = 0.161 * volume / (-area * np.log(1 - 0.2))
    assert np.allclose(room.rt60(formula="sabine"), sabine, rtol=0.01)
    assert np.allclose(room.rt60(formula="eyring"), eyring, rtol=0.01)
    assert np.all(room.rt60(formula="eyring") < room.rt60(formula="sabine"))


def test_air_shortens_high_band_rt60():
    with_air = Room.shoebox((20, 15, 8), Material.uniform(0.1))
    without = Room.shoebox((20, 15, 8), Material.uniform(0.1), air=None)
    ratio = with_air.rt60() / without.rt60()
    assert ratio[0] > 0.99 and ratio[-1] < 0.7
    assert np.all(np.diff(ratio) <= 1e-12)


@pytest.mark.parametrize("dims,rt60", [((5, 4, 3), 0.4), ((12, 9, 4), 1.2), ((25, 18, 9), 2.0)])
@pytest.mark.parametrize("air", [None, AirConditions()])
def test_for_rt60_inverts_eyring(dims, rt60, air):
    room = Room.for_rt60(dims, rt60, air=air)
    # Air alone limits the reverberation time to 4 ln(1e6) / (4 m c); such bands get rigid walls.
    m = room.air_coefficient()
    with np.errstate(divide="ignore"):
        limit = np.where(m > 0, np.log(1e6) / (SPEED_OF_SOUND * m), np.inf)
    reachable = rt60 < limit
    assert np.allclose(room.rt60()[reachable], rt60, rtol=1e-9)
    assert np.allclose(room.rt60()[~reachable], limit[~reachable], rtol=1e-9)
    assert np.all(room.mean_absorption()[~reachable] == 0)


def test_per_surface_materials():
    room = Room.shoebox((4, 5, 3), {"walls": "plaster", "floor": "carpet", "ceiling": "acoustic_panel"})
    assert room.materials["north"].name == "plaster"
    assert room.materials["floor"].name == "carpet"
    mixed = Room.shoebox((4, 5, 3), {"floor": "carpet", "default": "concrete"})
    assert [mixed.materials[s].name for s in SURFACES] == ["concrete"] * 4 + ["carpet", "concrete"]


@pytest.mark.parametrize("dims", [(0, 3, 3), (-4, 3, 3), (4, 3), (4, np.nan, 3), ("a", 2, 2)])
def test_bad_room_size(dims):
    with pytest.raises(InvalidGeometryError, match="room size"):
        Room.shoebox(dims)


@pytest.mark.parametrize("point", [(5, 1, 1), (1, 1, 0), (1, -1, 1), (1, 1, 3.5), (1, 1)])
def test_point_outside_room(point):
    room = Room.shoebox((4, 3, 3))
    with pytest.raises(InvalidGeometryError, match="listener"):
        room.check_inside(point, name="listener")


def test_unknown_surface_and_missing_surface():
    with pytest.raises(InvalidGeometryError, match="unknown surface"):
        Room.shoebox((4, 3, 3), {"roof": "plaster", "default": "plaster"})
    with pytest.raises(InvalidMaterialError, match="ceiling"):
        Room.shoebox((4, 3, 3), {"walls": "plaster", "floor": "carpet"})


@pytest.mark.parametrize("rt60", [0.0, -1.0, float("nan")])
def test_bad_rt60(rt60):
    with pytest.raises(InvalidGeometryError, match="RT60"):
        Room.for_rt60((10, 10, 10), rt60, air=None)
