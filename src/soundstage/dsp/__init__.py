"""Signal processing: octave bands, spectra, convolution, fractional delays, resampling, loudness."""

from soundstage.dsp.convolve import convolve_sum, fft_convolve
from soundstage.dsp.delay import render_impulses, sinc_kernels
from soundstage.dsp.filterbank import (
    band_edges,
    band_masks,
    band_power_fractions,
    band_split,
    band_synthesis,
    crossover_frequencies,
    high_pass,
    octave_filterbank,
)
from soundstage.dsp.loudness import integrated_loudness, match_loudness
from soundstage.dsp.resample import resample
from soundstage.dsp.spectral import hz_to_mel, istft, mel_filterbank, mel_spectrogram, mel_to_hz, stft

__all__ = [
    "band_edges",
    "band_masks",
    "band_power_fractions",
    "band_split",
    "band_synthesis",
    "crossover_frequencies",
    "convolve_sum",
    "fft_convolve",
    "high_pass",
    "hz_to_mel",
    "integrated_loudness",
    "istft",
    "mel_filterbank",
    "mel_spectrogram",
    "match_loudness",
    "mel_to_hz",
    "octave_filterbank",
    "render_impulses",
    "resample",
    "sinc_kernels",
    "stft",
]
