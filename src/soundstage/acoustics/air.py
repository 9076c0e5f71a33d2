"""Atmospheric sound absorption (ISO 9613-1:1993)."""

from __future__ import annotations

import numpy as np

from soundstage.constants import OCTAVE_BANDS

_T0 = 293.15  # reference temperature, K
_T01 = 273.16  # triple-point isotherm temperature, K
_P_REF = 101.325  # reference pressure, kPa


def air_attenuation_db(
    freqs: np.ndarray | tuple[float, ...] = OCTAVE_BANDS,
    *,
    temperature_c: float = 20.0,
    humidity: float = 50.0,
    pressure_kpa: float = _P_REF,
) -> np.ndarray:
    """Pure-tone attenuation coefficient of air in dB per metre (ISO 9613-1, eq. 5).

    Parameters
    ----------
    freqs : array of float
        Frequencies in Hz.
    temperature_c : float
        Air temperature in degrees Celsius.
    humidity : float
        Relative humidity in percent.
    pressure_kpa : float
        Atmospheric pressure in kPa.

    Returns
    -------
    array
        Attenuation in dB/m, same shape as ``freqs`` (about 0.005 dB/m at 1 kHz and
        0.1 dB/m at 8 kHz for 20 °C, 50 %).
    """
    f = np.asarray(freqs, dtype=float)
    t = temperature_c + 273.15
    pa = pressure_kpa / _P_REF
    c_sat = -6.8346 * (_T01 / t) ** 1.261 + 4.6151
    h = humidity * 10.0**c_sat / pa
    fr_o = pa * (24.0 + 4.04e4 * h * (0.02 + h) / (0.391 + h))
    fr_n = pa * (t / _T0) ** -0.5 * (9.0 + 280.0 * h * np.exp(-4.170 * ((t / _T0) ** (-1.0 / 3.0) - 1.0)))
    relax = (t / _T0) ** -2.5 * (
        0.01275 * np.exp(-2239.1 / t) / (fr_o + f**2 / fr_o)
        + 0.1068 * np.exp(-3352.0 / t) / (fr_n + f**2 / fr_n)
    )
    return 8.686 * f**2 * (1.84e-11 / pa * (t / _T0) ** 0.5 + relax)


def air_energy_coefficient(freqs: np.ndarray | tuple[float, ...] = OCTAVE_BANDS, **conditions: float) -> np.ndarray:
    """Energy attenuation constant ``m`` in 1/m, so energy falls as ``exp(-m * distance)``.

    This is the ``m`` of the ``4 m V`` air term in the Sabine and Eyring formulas.
    """
    return air_attenuation_db(freqs, **conditions) * np.log(10.0) / 10.0
