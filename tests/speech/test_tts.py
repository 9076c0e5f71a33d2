"""Text to speech: espeak-ng output is speech-like, back-end selection, fake engines, errors."""

from __future__ import annotations

import importlib.machinery
import json
import os
import sys
import types
import wave
from pathlib import Path

import numpy as np
import pytest

from soundstage.errors import DependencyError, FileFormatError, InvalidAudioError, SoundstageError
from soundstage.io.audio import write_audio
from soundstage.speech import engines, tts
from soundstage.speech.engines import EspeakNG, Flite, Piper, TTSBackend
from soundstage.speech.tts import (
    TTS_BACKENDS,
    available_backends,
    get_backend,
    load_dry_speech,
    synthesize_speech,
)

SPEECH = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "speech"
SENTENCE = "The quick brown fox jumps over the lazy dog while the room echoes softly."

needs_espeak = pytest.mark.skipif(not EspeakNG.available(), reason="espeak-ng not installed")


def _pitch(x: np.ndarray, sr: int) -> tuple[float, float]:
    """(median f0 in Hz, voiced share) of the loud 40 ms frames, by autocorrelation."""
    n, hop = int(0.04 * sr), int(0.01 * sr)
    frames = np.stack([x[i : i + n] for i in range(0, len(x) - n, hop)]).astype(np.float64)
    loud = frames[np.sum(frames**2, axis=1) > 0.1 * np.max(np.sum(frames**2, axis=1))]
    lo, hi = int(sr / 400), int(sr / 60)
    f0 = []
    for frame in loud:
        frame = frame - frame.mean()
        ac = np.correlate(frame, frame, "full")[n - 1 :]
        ac = ac / ac[0]
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.5:
            f0.append(sr / lag)
    return float(np.median(f0)), len(f0) / len(loud)


# --- espeak-ng -----------------------------------------------------------------------------


@needs_espeak
def test_espeak_speech_is_voiced_with_male_and_female_pitch() -> None:
    male, sr = synthesize_speech(SENTENCE)
    female, _ = synthesize_speech(SENTENCE, voice="en-us+f3")
    assert sr == 16000 and male.dtype == np.float32 and male.ndim == 1
    assert 0.05 < np.max(np.abs(male)) <= 1.0
    assert np.sqrt(np.mean(male**2)) > 0.01  # speech energy, not a whisper of noise
    f0_male, voiced_male = _pitch(male, sr)
    f0_female, voiced_female = _pitch(female, sr)
    assert 80 < f0_male < 160 and voiced_male > 0.7
    assert 160 < f0_female < 300 and voiced_female > 0.7
    assert f0_female > 1.5 * f0_male


@needs_espeak
def test_duration_grows_with_text_and_falls_with_rate() -> None:
    durations = [synthesize_speech(t)[0].size / 16000 for t in ("Hello.", SENTENCE)]
    double = synthesize_speech(f"{SENTENCE} {SENTENCE}")[0].size / 16000
    assert durations[0] < 1.5 < 3.0 < durations[1] < 8.0  # about 150 words per minute
    assert double == pytest.approx(2 * durations[1], rel=0.15)
    slow = synthesize_speech(SENTENCE, words_per_minute=100)[0].size
    fast = synthesize_speech(SENTENCE, words_per_minute=200)[0].size
    assert 1.6 < slow / fast < 2.4


@needs_espeak
@pytest.mark.parametrize("sr", [22050, 48000])
def test_resampling_keeps_duration_and_pitch(sr: int) -> None:
    base, _ = synthesize_speech(SENTENCE, sr=16000)
    speech, rate = synthesize_speech(SENTENCE, sr=sr)
    assert rate == sr
    assert abs(speech.size / sr - base.size / 16000) < 1e-3
    assert _pitch(speech, sr)[0] == pytest.approx(_pitch(base, 16000)[0], rel=0.03)
    if sr == 48000:  # espeak-ng renders at 22.05 kHz: nothing above its Nyquist frequency
        power = np.abs(np.fft.rfft(speech)) ** 2
        assert power[np.fft.rfftfreq(speech.size, 1 / sr) > 11100].sum() < 1e-6 * power.sum()


@needs_espeak
def test_backend_object_name_and_instance_agree() -> None:
    engine = get_backend(" ESPEAK-NG ", "en-gb", words_per_minute=180)
    assert isinstance(engine, EspeakNG) and engine.voice == "en-gb"
    assert engine.words_per_minute == 180
    direct = engine.synthesize("Good morning.", 16000)
    via_call, _ = synthesize_speech("Good morning.", backend=engine)
    np.testing.assert_array_equal(direct, via_call)  # espeak-ng is deterministic
    legacy, sr = synthesize_speech("Good morning.", sr=16000, voice="en-gb", words_per_minute=180)
    np.testing.assert_array_equal(legacy, direct)


@needs_espeak
def test_espeak_errors_name_the_problem() -> None:
    with pytest.raises(SoundstageError, match="'xx-nope'.*espeak-ng --voices"):
        synthesize_speech("hello", voice="xx-nope")
    with pytest.raises(SoundstageError, match="only silence"):
        synthesize_speech("...")


# --- selection and errors ------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n", None])
def test_empty_text_refused(text) -> None:
    with pytest.raises(SoundstageError, match="empty"):
        synthesize_speech(text)


def test_unknown_backend_lists_the_known_ones() -> None:
    with pytest.raises(SoundstageError, match="espeak-ng, flite, piper"):
        get_backend("festival")
    with pytest.raises(SoundstageError, match="'festival'"):
        synthesize_speech("hello", backend="festival")


def test_bad_rate_settings_refused() -> None:
    for wpm in (20, 1000, 150.5, True):
        with pytest.raises(SoundstageError, match="words_per_minute"):
            EspeakNG(words_per_minute=wpm)
    with pytest.raises(SoundstageError, match="espeak-ng setting"):
        get_backend("flite", words_per_minute=120)
    for sr in (0, -16000, 16000.5):
        with pytest.raises(InvalidAudioError, match="sr"):
            synthesize_speech("hello", sr=sr)
    with pytest.raises(SoundstageError, match="constructor"):
        synthesize_speech("hello", backend=EspeakNG(), voice="en-gb")


def test_availability_matches_the_installed_engines(monkeypatch: pytest.MonkeyPatch) -> None:
    listed = available_backends()
    assert listed == [n for n in TTS_BACKENDS if n in listed]
    assert ("espeak-ng" in listed) == EspeakNG.available() == tts.espeak_available()
    assert ("flite" in listed) == Flite.available()
    assert ("piper" in listed) == Piper.available()
    monkeypatch.setattr(engines.shutil, "which", lambda program: None)
    monkeypatch.setattr(engines, "_piper_module_installed", lambda: False)
    assert available_backends() == []


def test_missing_engines_say_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(engines.shutil, "which", lambda program: None)
    monkeypatch.setattr(engines, "_piper_module_installed", lambda: False)
    with pytest.raises(DependencyError, match="apt-get install espeak-ng"):
        synthesize_speech("hello")
    with pytest.raises(DependencyError, match="apt-get install flite"):
        synthesize_speech("hello", backend="flite")
    model = tmp_path / "voice.onnx"
    model.write_bytes(b"onnx")
    Path(f"{model}.json").write_text("{}")
    with pytest.raises(DependencyError, match="pip install piper-tts"):
        synthesize_speech("hello", backend="piper", voice=model)


def test_piper_voice_files_are_required(tmp_path: Path) -> None:
    with pytest.raises(SoundstageError, match="needs a voice.*never downloads"):
        get_backend("piper")
    with pytest.raises(FileFormatError, match="missing.onnx"):
        get_backend("piper", tmp_path / "missing.onnx")
    model = tmp_path / "voice.onnx"
    model.write_bytes(b"onnx")
    with pytest.raises(FileFormatError, match=r"voice\.onnx\.json"):
        Piper(model=model)
    config = tmp_path / "other.json"
    config.write_text("{}")
    assert Piper(model=model, config=config).config == config
    with pytest.raises(FileFormatError, match="nope.flitevox"):
        Flite(voice=str(tmp_path / "nope.flitevox"))


# --- fake engines: the command lines and the module API that flite and piper are driven by --


_FAKE_ENGINE = """#!{python}
import json, math, struct, sys, wave
args = sys.argv[1:]
out = args[args.index("{out_flag}") + 1]
text = sys.stdin.read()
with open({log!r}, "w") as fh:
    json.dump({{"args": args, "stdin": text}}, fh)
sr = 16000
with wave.open(out, "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(sr)
    w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 150 * i / sr)))
                           for i in range(sr // 2)))
"""


def _install_fake(tmp_path: Path, monkeypatch, program: str, out_flag: str) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / f"{program}.json"
    script = bin_dir / program
    script.write_text(_FAKE_ENGINE.format(python=sys.executable, out_flag=out_flag, log=str(log)))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return log


def test_flite_program_is_driven_with_voice_and_text(tmp_path, monkeypatch) -> None:
    log = _install_fake(tmp_path, monkeypatch, "flite", "-o")
    assert Flite.available() and "flite" in available_backends()
    speech, sr = synthesize_speech("Hello from flite.", sr=22050, backend="flite", voice="slt")
    call = json.loads(log.read_text())
    assert call["args"][:2] == ["-voice", "slt"] and "-f" in call["args"]
    spoken = Path(call["args"][call["args"].index("-f") + 1])
    assert not spoken.exists()  # the temporary text file is cleaned up
    assert sr == 22050 and speech.size == pytest.approx(22050 / 2, abs=2)
    assert _pitch(speech, sr)[0] == pytest.approx(150, rel=0.02)


def test_piper_program_gets_model_config_and_text_on_stdin(tmp_path, monkeypatch) -> None:
    log = _install_fake(tmp_path, monkeypatch, "piper", "--output_file")
    monkeypatch.setattr(engines, "_piper_module_installed", lambda: False)
    model = tmp_path / "en_US-test.onnx"
    model.write_bytes(b"onnx")
    Path(f"{model}.json").write_text("{}")
    speech, _ = synthesize_speech("Hello from piper.", backend="piper", voice=model)
    call = json.loads(log.read_text())
    assert call["args"][call["args"].index("--model") + 1] == str(model)
    assert call["args"][call["args"].index("--config") + 1] == f"{model}.json"
    assert call["stdin"] == "Hello from piper."
    assert speech.size == 8000 and _pitch(speech, 16000)[0] == pytest.approx(150, rel=0.02)


@pytest.mark.parametrize("method", ["synthesize_wav", "synthesize"])
def test_piper_module_api_both_versions(tmp_path, monkeypatch, method: str) -> None:
    calls: dict[str, object] = {}

    class FakeVoice:
        @classmethod
        def load(cls, model_path, config_path=None):
            calls["load"] = (model_path, config_path)
            return cls()

        def write(self, text: str, handle: wave.Wave_write) -> None:
            calls["text"] = text
            handle.setnchannels(1), handle.setsampwidth(2), handle.setframerate(22050)
            tone = (6000 * np.sin(2 * np.pi * 200 * np.arange(22050) / 22050)).astype("<i2")
            handle.writeframes(tone.tobytes())

    setattr(FakeVoice, method, FakeVoice.write)
    module = types.ModuleType("piper")
    module.__spec__ = importlib.machinery.ModuleSpec("piper", None)
    module.PiperVoice = FakeVoice
    monkeypatch.setitem(sys.modules, "piper", module)
    model = tmp_path / "v.onnx"
    model.write_bytes(b"onnx")
    Path(f"{model}.json").write_text("{}")
    assert Piper.available()
    speech = Piper(model=model).synthesize("Hi there.", 16000)
    assert calls["load"] == (str(model), f"{model}.json") and calls["text"] == "Hi there."
    assert speech.size == 16000 and _pitch(speech, 16000)[0] == pytest.approx(200, rel=0.02)


@pytest.mark.skipif(not Flite.available(), reason="flite not installed")
def test_real_flite_speaks() -> None:
    speech, sr = synthesize_speech(SENTENCE, backend="flite")
    assert 2.0 < speech.size / sr < 8.0 and _pitch(speech, sr)[1] > 0.5


@pytest.mark.skipif(
    not (Piper.available() and os.environ.get("SOUNDSTAGE_PIPER_VOICE")),
    reason="piper or a voice (SOUNDSTAGE_PIPER_VOICE=path.onnx) not available",
)
def test_real_piper_speaks() -> None:
    voice = os.environ["SOUNDSTAGE_PIPER_VOICE"]
    speech, sr = synthesize_speech(SENTENCE, backend="piper", voice=voice)
    assert 2.0 < speech.size / sr < 8.0 and _pitch(speech, sr)[1] > 0.5


def test_backends_are_tts_backends() -> None:
    assert all(issubclass(cls, TTSBackend) for cls in (EspeakNG, Flite, Piper))
    assert [cls.name for cls in (EspeakNG, Flite, Piper)] == list(TTS_BACKENDS)
    reexported = (tts.TTSBackend, tts.EspeakNG, tts.Flite, tts.Piper)
    assert reexported == (TTSBackend, EspeakNG, Flite, Piper)


# --- recorded dry speech -------------------------------------------------------------------


def test_load_dry_speech_resamples_and_mixes_down(tmp_path: Path) -> None:
    t = np.arange(44100) / 44100
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    path = write_audio(tmp_path / "tone.wav", np.stack([tone, 0.5 * tone]), 44100)
    speech = load_dry_speech(path, sr=16000)
    assert speech.dtype == np.float32 and speech.shape == (16000,)
    peak_hz = np.argmax(np.abs(np.fft.rfft(speech))) * 16000 / speech.size
    assert peak_hz == pytest.approx(440, abs=1.5)
    assert np.max(np.abs(speech)) == pytest.approx(0.375, rel=0.02)  # mean of the two channels


@pytest.mark.skipif(not (SPEECH / "vctk_p286_011.wav").is_file(), reason="shared data absent")
def test_load_dry_speech_real_48k_recording() -> None:
    speech = load_dry_speech(SPEECH / "vctk_p286_011.wav", sr=16000)
    native = load_dry_speech(SPEECH / "vctk_p286_011.wav", sr=48000)
    assert abs(speech.size / 16000 - native.size / 48000) < 1e-3
    assert 0.05 < np.max(np.abs(speech)) <= 1.0 and _pitch(speech, 16000)[1] > 0.3


def test_load_dry_speech_errors(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="no such file"):
        load_dry_speech(tmp_path / "missing.wav")
    silent = write_audio(tmp_path / "silent.wav", np.zeros(16000, np.float32), 16000)
    with pytest.raises(InvalidAudioError, match="silent"):
        load_dry_speech(silent)
    with wave.open(str(tmp_path / "empty.wav"), "wb") as handle:
        handle.setnchannels(1), handle.setsampwidth(2), handle.setframerate(16000)
    with pytest.raises(InvalidAudioError, match="no audio samples"):
        load_dry_speech(tmp_path / "empty.wav")
    with pytest.raises(InvalidAudioError, match="sr"):
        load_dry_speech(silent, sr=0)
