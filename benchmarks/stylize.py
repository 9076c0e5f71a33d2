"""``stylize`` speed: real-time factor of the DSP path on 10 s of 16 kHz speech.

* **input**: 10 s of clean read speech (``../shared/data/speech/librispeech_198-209-0000.ogg``;
  espeak-ng speech when the shared data is absent);
* **reference**: a talk of three other clean files convolved with the measured Council
  Chamber response (``rirs/ir_council_s1r1_ch1.wav``, T30 about 0.9 s) plus the kitchen
  background (``ambient/speechcommands_doing_the_dishes.wav``) 20 dB below the speech;
  without the shared data, espeak speech in a synthesized 0.9 s room plus noise.
* **measures**: the whole DSP path (:func:`~soundstage.pipelines.stylize.stylize_signal`:
  blind analysis of the reference, response synthesis, convolution, ambience loop and
  level, loudness), its stages, and the same with WPE dereverberation of the input.
  Target: real-time factor <= 0.1 without dereverberation.
* **peer**: ``scipy.signal.fftconvolve`` of the input with the same response, the least
  any convolution reverb does, timed in the same run; the ratio is soundstage's time over
  the peer's.

Run ``python benchmarks/stylize.py [--json]`` from the repository root (``taskset -c 0,1``
for the 2-core CI machine's numbers).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.signal import fftconvolve

from common import best_of, fmt, pass_fail, repeats_main, table

SR = 16000
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
TARGET_RTF = 0.1


def material() -> tuple[np.ndarray, np.ndarray, str]:
    """10 s input, a reference recording, and where they came from."""
    from soundstage.io.audio import read_audio

    def mono(path: Path) -> np.ndarray:
        x, _ = read_audio(path, sr=SR, mono=True)
        return x.astype(np.float64)

    if (DATA / "speech").is_dir() and (DATA / "rirs").is_dir() and (DATA / "ambient").is_dir():
        from soundstage.pipelines.eval_stylize import speech_talks

        x = mono(DATA / "speech" / "librispeech_198-209-0000.ogg")[: 10 * SR]
        talk = speech_talks(sorted((DATA / "speech").glob("cmu_arctic_*.wav")))[0]
        h = mono(DATA / "rirs" / "ir_council_s1r1_ch1.wav")
        amb = mono(DATA / "ambient" / "speechcommands_doing_the_dishes.wav")[: talk.size]
        source = "shared speech, Council Chamber response, kitchen background"
    else:
        from soundstage.acoustics.from_profile import synthesize_from_spec
        from soundstage.speech.tts import synthesize_speech

        text = "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. " * 3
        speech, _ = synthesize_speech(text, sr=SR)
        x = np.resize(speech.astype(np.float64), 10 * SR)
        talk = speech.astype(np.float64)
        h = synthesize_from_spec({"t30": {str(b): 0.9 for b in (125, 250, 500, 1000, 2000, 4000)}, "drr_db": -6.0,
                                  "direct_delay_s": 0.003}, sr=SR).astype(np.float64)
        amb = np.random.default_rng(0).standard_normal(talk.size)
        source = "espeak-ng speech, synthesized 0.9 s room, white noise"
    wet = fftconvolve(talk, h)[: talk.size]
    amb = amb * np.sqrt(np.mean(wet**2) / 100.0 / np.mean(amb**2))
    ref = wet + amb
    return x, 0.5 * ref / np.abs(ref).max(), source


def run(repeats: int) -> dict:
    from soundstage.acoustics.from_profile import synthesize_from_spec
    from soundstage.pipelines.stylize import reference_profile, stylize_signal

    x, ref, source = material()
    seconds = x.size / SR
    t_all, out = best_of(lambda: stylize_signal(x, SR, ref, dereverb="off"), repeats=repeats)
    t_wpe, _ = best_of(lambda: stylize_signal(x, SR, ref, dereverb="on"), repeats=repeats)
    t_profile, profile = best_of(lambda: reference_profile(ref, SR), repeats=repeats)
    t_response, h = best_of(lambda: synthesize_from_spec(profile["spec"], sr=SR), repeats=repeats)
    t_peer, _ = best_of(lambda: fftconvolve(x, out.response)[: x.size], repeats=repeats)
    return {"source": source, "input_s": seconds, "reference_s": ref.size / SR, "response_s": out.response.size / SR,
            "dsp_s": t_all, "rtf": t_all / seconds, "rtf_with_wpe": t_wpe / seconds, "reference_analysis_s": t_profile,
            "response_synthesis_s": t_response, "peer_convolution_s": t_peer, "ratio_to_peer": t_all / t_peer,
            "target_rtf": TARGET_RTF}


def print_report(r: dict) -> None:
    print(f"{r['source']}: input {r['input_s']:.1f} s, reference {r['reference_s']:.1f} s, "
          f"synthesized response {r['response_s']:.2f} s\n")
    rows = [
        ["DSP path RTF (no dereverberation)", fmt(r["rtf"]), f"<= {TARGET_RTF}", pass_fail(r["rtf"] <= TARGET_RTF)],
        ["DSP path RTF with WPE dereverberation", fmt(r["rtf_with_wpe"]), "", ""],
        ["  blind analysis of the reference (s)", fmt(r["reference_analysis_s"]), "", ""],
        ["  response synthesis (s)", fmt(r["response_synthesis_s"]), "", ""],
        ["peer: scipy fftconvolve with the same response (s)", fmt(r["peer_convolution_s"], ".4f"), "", ""],
        ["ratio: DSP path / peer", fmt(r["ratio_to_peer"], ".1f"), "", ""],
    ]
    print(table(["measure", "value", "target", ""], rows))


def main(argv: list[str] | None = None) -> int:
    return repeats_main(__doc__, run, print_report, argv)


if __name__ == "__main__":
    sys.exit(main())
