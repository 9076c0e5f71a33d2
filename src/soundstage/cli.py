"""The ``soundstage`` command: one subcommand per job, each calling one pipeline function."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Sequence

from soundstage import __version__
from soundstage.acoustics.analysis import AcousticProfile
from soundstage.errors import InvalidGeometryError, SoundstageError

COLUMNS = (("edt", "EDT s", 1), ("t20", "T20 s", 1), ("t30", "T30 s", 1), ("c50", "C50 dB", 1),
           ("c80", "C80 dB", 1), ("d50", "D50", 1), ("drr_db", "DRR dB", 1), ("ts", "Ts ms", 1000))


def _numbers(text: str, sep: str, what: str, count: int = 3) -> list[float]:
    try:
        values = [float(v) for v in text.split(sep)]
    except ValueError:
        values = []
    if len(values) != count or not all(math.isfinite(v) for v in values):
        example = sep.join(["1"] * count)
        raise InvalidGeometryError(f"{what} must be {count} numbers like {example!r}, got {text!r}")
    return values


def _materials(text: str | None) -> str | dict[str, str] | None:
    """``plaster`` or ``walls=plaster,floor=carpet,ceiling=acoustic_panel`` (``default=`` allowed)."""
    if text is None or "=" not in text:
        return text
    spec = {}
    for item in text.split(","):
        key, _, value = item.partition("=")
        if not key.strip() or not value.strip():
            raise InvalidGeometryError(f"material spec {item!r} must look like surface=material")
        spec[key.strip()] = value.strip()
    return spec


def format_profile(profile: AcousticProfile) -> str:
    """A text table: one row per octave band plus broadband, one column per parameter."""
    head = f"{'band':>10}" + "".join(f"{name:>9}" for _, name, _ in COLUMNS)
    rows = [head, "-" * len(head)]
    entries = [(f"{fc} Hz", p) for fc, p in profile.bands.items()] + [("broadband", profile.broadband)]
    for label, params in entries:
        cells = "".join(
            f"{params[key] * scale:>9.2f}" if math.isfinite(params[key]) else f"{'-':>9}" for key, _, scale in COLUMNS
        )
        rows.append(f"{label:>10}{cells}")
    rows.append(f"direct sound at {profile.direct_delay * 1000:.2f} ms; DRR direct window +-2.5 ms around its peak")
    return "\n".join(rows)


def _cmd_rir(args: argparse.Namespace) -> int:
    from soundstage.pipelines.room import make_room, render_room_response

    room = make_room(_numbers(args.room, "x", "--room"), materials=_materials(args.material), rt60=args.rt60,
                     air=not args.no_air)
    result = render_room_response(
        room, _numbers(args.source, ",", "--source"), _numbers(args.listener, ",", "--listener"),
        output=args.output, sr=args.sr, duration=args.duration, seed=args.seed, plot=args.plot,
    )
    meta = result.response.metadata
    print(f"wrote {args.output}: {result.response.duration:.2f} s at {args.sr} Hz, "
          f"{meta['n_images']} image sources up to {meta['crossover_s'] * 1000:.0f} ms, then diffuse tail")
    print(f"source-listener {meta['distance_m']:.3f} m -> direct sound at {meta['distance_m'] / 343 * 1000:.2f} ms")
    design = "  ".join(f"{fc}:{t:.2f}" for fc, t in zip(result.profile.bands, meta["rt60_design"]))
    print(f"design RT60 ({meta['formula']}) per band, s: {design}")
    print(format_profile(result.profile))
    if args.plot:
        print(f"wrote {args.plot}")
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    if args.blind:
        return _cmd_analyze_blind(args)
    from soundstage.pipelines.room import analyze_file

    profiles = analyze_file(args.file, plot=args.plot)
    if args.json:
        data = [p.to_dict() for p in profiles]
        print(json.dumps(data[0] if len(data) == 1 else data, indent=2))
        return 0
    for c, profile in enumerate(profiles):
        if len(profiles) > 1:
            print(f"channel {c + 1}")
        print(format_profile(profile))
    if args.plot:
        print(f"wrote {args.plot}")
    return 0


def _cmd_analyze_blind(args: argparse.Namespace) -> int:
    from soundstage.pipelines.room import analyze_recording

    data = analyze_recording(args.file, plot=args.plot)
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    fmt = lambda v: "    -" if v is None else f"{v:5.2f}"  # noqa: E731
    print("blind T60 (s): " + "  ".join(f"{fc} Hz {fmt(b['t30'])}" for fc, b in data["bands"].items())
          + f"  broadband {fmt(data['broadband']['t30'])}")
    print(f"DRR prior from the T60: {fmt(data['broadband']['drr_db'])} dB")
    amb = data["ambience"]
    print(f"ambience: {amb['level_dbfs']} dBFS ({amb['source']}, {amb['seconds']} s), "
          f"speech to ambience {amb['speech_to_ambience_db']} dB; sound in {100 * data['speech_fraction']:.0f} % of the frames")
    if args.plot:
        print(f"wrote {args.plot}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from soundstage.pipelines.demo import run_demo

    summary = run_demo(args.out, sr=args.sr)
    print(f"soundstage demo -> {summary['out_dir']}/")
    print(f"room {'x'.join(f'{d:g}' for d in summary['room'])} m: " + ", ".join(f"{k} {v}" for k, v in summary["materials"].items()))
    print("Eyring RT60 per band (s):", "  ".join(f"{k}:{v:.2f}" for k, v in summary["rt60_eyring"].items()))
    print(format_profile(AcousticProfile.from_dict(summary["profile"])))
    spk = summary["speak"]
    print(f"speak: {spk['caption']} Predicted T30 at 1 kHz {spk['predicted_t30_s']['1000']:.2f} s.")
    s2s = summary["see2sound"]
    print(f"see2sound: {s2s['space']}, " + "; ".join(
        f"{r['rank']}: {r['label']} at {r['azimuth_deg']:+.0f} deg, {r['distance_m']:.1f} m" for r in s2s["regions"]))
    print("files:", ", ".join(summary["files"]))
    return 0


def _cmd_spatialize(args: argparse.Namespace) -> int:
    from soundstage.pipelines.spatialize import spatialize

    result = spatialize(args.scene, args.output, fmt=args.format, plot=args.plot)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(f"{result.path}: {result.format}, {len(result.layout)} channels ({' '.join(result.layout)}), "
          f"{result.sr} Hz, {result.duration:.2f} s, peak {result.peak_dbfs:.1f} dBFS"
          + (f" (scaled {result.normalization_db:.1f} dB)" if result.normalization_db < 0 else ""))
    for src in result.sources:
        where = f"azimuth {src['azimuth_deg']:+.1f} deg, elevation {src['elevation_deg']:+.1f} deg" if "azimuth_deg" in src else ""
        print(f"  {src['name']}: {'moving, starting at ' if src['moving'] else ''}{src['distance_m']:.2f} m, {where}")
    if args.plot:
        print(f"figure: {args.plot}")
    return 0


def _parse_pixel(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        u, v = (float(t) for t in text.split(","))
    except ValueError:
        raise InvalidGeometryError(f"speaker pixel {text!r} must look like U,V (column,row in pixels), e.g. 320,260") from None
    return u, v


def _cmd_speak(args: argparse.Namespace) -> int:
    from soundstage.pipelines.speak import speak

    result = speak(args.text, image=args.image, output=args.output, depth=args.depth, intrinsics=args.intrinsics,
                   depth_scale=args.depth_scale, depth_encoding=args.depth_encoding, speech=args.speech,
                   backend=args.tts, voice=args.voice, speaker_pixel=_parse_pixel(args.speaker_pixel),
                   binaural=args.binaural, sr=args.sr, plot=args.plot, scene_json=args.scene_json,
                   model=args.model, checkpoint=args.checkpoint)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    s = result.scene.summary()
    print(f"{result.path}: {result.channels} channel(s), {result.sr} Hz, {result.duration:.2f} s"
          + (f" (scaled {result.gain_db:.1f} dB)" if result.gain_db < 0 else ""))
    print(f"  {s['caption']}")
    print("  room " + " x ".join(f"{d:.2f}" for d in s["room_dims_m"]) + f" m, {s['volume_m3']:.0f} m3; "
          + ", ".join(f"{k} {v['material']}" for k, v in s["surfaces"].items()))
    print("  predicted T30 (s): " + "  ".join(f"{b}:{t:.2f}" for b, t in s["predicted_t30_s"].items()))
    if result.predicted_profile is not None:
        p = result.predicted_profile
        print("  learned model T30 (s): " + "  ".join(f"{b}:{t:.2f}" for b, t in p["t30"].items())
              + f"; DRR {p['drr_db']:.1f} dB, direct sound after {1000 * p['direct_delay_s']:.1f} ms (used for the audio)")
    print(f"  talker {s['speaker_m']} m, listener {s['listener_m']} m")
    for w in s["warnings"]:
        print(f"  warning: {w}")
    return 0


def _cmd_see2sound(args: argparse.Namespace) -> int:
    from soundstage.pipelines.see2sound import load_labels, parse_labels, see2sound

    labels = {**(load_labels(args.labels) if args.labels else {}), **parse_labels(args.label)}
    result = see2sound(args.image, args.output, mux=args.mux, depth=args.depth, intrinsics=args.intrinsics,
                       depth_scale=args.depth_scale, depth_encoding=args.depth_encoding, fmt=args.format,
                       sources=args.sources, labels=labels, duration=args.duration, sr=args.sr,
                       bank=args.bank, generator=args.generator, generator_steps=args.generator_steps, sam=args.sam,
                       space=args.space, plot=args.plot, seed=args.seed)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    scene = result.scene
    print(f"{result.path}: {result.format} ({len(result.channels)} channels), {result.sr} Hz, {result.duration:g} s, "
          f"{result.loudness_lufs:.1f} LUFS; {'outdoor' if scene.outdoor else 'indoor'} ({scene.space_reason})")
    for r in scene.regions:
        print(f"  {r.rank}: {r.label} ({r.label_from}: {r.reason}) at azimuth {r.azimuth_deg:+.0f} deg, "
              f"elevation {r.elevation_deg:+.0f} deg, {r.distance_m:.1f} m <- {r.generator}")
    for f in result.files[1:]:
        print(f"  also wrote {f}")
    for note in scene.notes:
        print(f"  note: {note}")
    return 0


def _cmd_roomsynth(args: argparse.Namespace) -> int:
    from soundstage.data.roomsynth import generate

    rows = generate(args.out, args.n, args.split, args.seed, args.workers, width=args.size, height=args.size,
                    backend=args.backend, ray_address=args.ray_address)
    done = sum(r["split"] == args.split for r in rows)
    print(f"{args.out}: {done} {args.split} items (seed {args.seed}), manifest {args.out}/manifest.jsonl")
    return 0


def _cmd_inpaint(args: argparse.Namespace) -> int:
    from soundstage.pipelines.inpaint import inpaint, parse_gaps

    gaps = parse_gaps(args.gaps) if args.gaps else None
    result = inpaint(args.video, args.output, audio=args.audio, gaps=gaps, model=args.model,
                     allow_audio_only=args.allow_audio_only)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    spans = ", ".join(f"{g.start:.2f}-{g.end:.2f} s" for g in result.gaps)
    print(f"{result.path}: {result.duration:.2f} s at 16000 Hz, model {result.model}, filled {spans}")
    if result.missing_frames:
        print(f"  face not found in {result.missing_frames} frame(s): lip positions interpolated")
    for note in result.notes:
        print(f"  {note}")
    return 0


def _cmd_eval_inpaint(args: argparse.Namespace) -> int:
    from soundstage.pipelines.inpaint import MODELS, evaluate

    models = args.models.split(",") if args.models else list(MODELS)
    result = evaluate(args.data, models=models, split=args.split, seed=args.seed, limit=args.limit,
                      cache_dir=args.cache, control=not args.no_control)
    if args.plot:
        from soundstage.plots import plot_inpainting_scores

        plot_inpainting_scores(result, args.plot)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    metrics = ("pesq", "stoi", "lsd", "l1")
    bins = sorted({b for per_model in result.values() for b in per_model}, key=int)
    head = f"{'model':>12} {'gap ms':>7}" + "".join(f"{m:>8}" for m in metrics)
    print(head + "\n" + "-" * len(head))
    for name, per_model in result.items():
        for b in bins:
            cell = per_model[b]
            print(f"{name:>12} {b:>7}" + "".join(f"{cell[m]:>8.3f}" for m in metrics))
    return 0


def _cmd_stylize(args: argparse.Namespace) -> int:
    from soundstage.pipelines.stylize import stylize

    result = stylize(args.input, args.reference, args.output, method=args.method, ambience=not args.no_ambience,
                     tail=args.tail, dereverb=args.dereverb, visual_only=args.visual_only, depth=args.depth,
                     intrinsics=args.intrinsics, depth_scale=args.depth_scale, allow_clipped=args.allow_clipped,
                     seed=args.seed, plot=args.plot, checkpoint=args.checkpoint)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    ref = result.stylized.reference
    fmt = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    print(f"{result.path}: {result.duration:.2f} s at {result.sr} Hz ({result.method}, reference: {result.reference_kind})")
    print(("  reference T60 (s): " if result.stylized.response is None else "  room T60 (s): ")
          + "  ".join(f"{fc}:{fmt(b['t30'])}" for fc, b in ref["bands"].items())
          + f"; DRR {fmt(ref['broadband']['drr_db'])} dB")
    if "ambience" in ref and result.stylized.ambience_gain is not None:
        amb = ref["ambience"]
        print(f"  ambience {amb['level_dbfs']} dBFS ({amb['source']}), speech to ambience {amb['speech_to_ambience_db']} dB")
    for note in result.stylized.notes:
        print(f"  {note}")
    for f in result.files[1:]:
        print(f"  wrote {f}")
    return 0


def _named_checkpoints(texts: list[str] | None, taken: Sequence[str]) -> dict[str, str]:
    """``--model NAME=CHECKPOINT`` options as ``{name: checkpoint}``; names must be new and not in ``taken``."""
    models: dict[str, str] = {}
    for text in texts or []:
        name, sep, ckpt = text.partition("=")
        name, ckpt = name.strip(), ckpt.strip()
        if not sep or not name or not ckpt or name in taken or name in models:
            raise SoundstageError(f"--model {text!r} must look like NAME=CHECKPOINT with a new name other than "
                                  f"{', '.join(taken)}")
        models[name] = ckpt
    return models


def _cmd_eval_stylize(args: argparse.Namespace) -> int:
    from soundstage.pipelines.eval_stylize import SYSTEMS, evaluate, format_table, plot_scores
    from soundstage.pipelines.room import check_plot_path

    check_plot_path(args.plot)
    systems = [s.strip() for s in args.systems.split(",") if s.strip()] if args.systems is not None else list(SYSTEMS)
    models = _named_checkpoints(args.model, SYSTEMS)
    result = evaluate(args.data, systems=systems, models=models, limit=args.limit, seed=args.seed)
    return _show_scores(result, args, plot_scores, format_table)


def _show_scores(result: dict, args: argparse.Namespace, plot_scores, format_table) -> int:
    """Draw ``--plot``, then print the scores as JSON (``--json``) or as a table."""
    if args.plot:
        plot_scores(result, args.plot)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(format_table(result))
    return 0


def _cmd_eval_see2sound(args: argparse.Namespace) -> int:
    from soundstage.pipelines.eval_see2sound import evaluate, format_table, plot_scores
    from soundstage.pipelines.room import check_plot_path

    check_plot_path(args.plot)
    return _show_scores(evaluate(args.data, out=args.out, seed=args.seed), args, plot_scores, format_table)


def _cmd_eval_speak(args: argparse.Namespace) -> int:
    from soundstage.pipelines.eval_speak import BUILTIN_SYSTEMS, evaluate, format_table, plot_scores, split_rows
    from soundstage.pipelines.room import check_plot_path

    models = _named_checkpoints(args.model, BUILTIN_SYSTEMS)
    systems = list(BUILTIN_SYSTEMS)
    if args.systems is not None:
        systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    check_plot_path(args.plot)
    split_rows(args.data, args.split, args.limit)  # fail on a bad folder or split before loading any model
    predictors = {}
    if models:
        from soundstage.models.visual_acoustics import load_predictor

        predictors = {name: load_predictor(ckpt) for name, ckpt in models.items()}
    result = evaluate(args.data, split=args.split, limit=args.limit, systems=systems, predictors=predictors,
                      speech=args.speech, mean_from=args.mean_from)
    return _show_scores(result, args, plot_scores, format_table)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``soundstage`` command."""
    parser = argparse.ArgumentParser(prog="soundstage", description="Make sound match a pictured scene.")
    parser.add_argument("--version", action="version", version=f"soundstage {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the main job on built-in inputs into ./soundstage-demo/")
    demo.add_argument("--out", default="soundstage-demo", help="output folder (default: soundstage-demo)")
    demo.add_argument("--sr", type=int, default=16000, help="sample rate in Hz (default 16000)")
    demo.set_defaults(func=_cmd_demo)

    rir = sub.add_parser("rir", help="synthesize a shoebox room impulse response")
    rir.add_argument("--room", required=True, help="room size LxWxH in metres, e.g. 8x6x3.5")
    rir.add_argument("--material", help="one material for every surface (e.g. plaster) or per surface: "
                     "walls=plaster,floor=carpet,ceiling=acoustic_panel (surfaces: west east south north "
                     "floor ceiling walls default); default plaster")
    rir.add_argument("--rt60", type=float, help="target Eyring RT60 in seconds (uniform absorption) instead of materials")
    rir.add_argument("--source", required=True, help="source position x,y,z in metres")
    rir.add_argument("--listener", required=True, help="listener position x,y,z in metres")
    rir.add_argument("--sr", type=int, default=16000, help="sample rate in Hz (default 16000)")
    rir.add_argument("--duration", type=float, help="length in seconds (default: 1.1 x the longest RT60)")
    rir.add_argument("--seed", type=int, default=0, help="seed of the diffuse tail (default 0)")
    rir.add_argument("--no-air", action="store_true", help="leave out air absorption")
    rir.add_argument("-o", "--output", required=True, help="output audio file (.wav, .flac, .ogg)")
    rir.add_argument("--plot", help="also write a figure (.png, .pdf, .svg)")
    rir.set_defaults(func=_cmd_rir)

    ana = sub.add_parser("analyze", help="ISO 3382-1 parameters of an impulse response file (or, --blind, of a recording)")
    ana.add_argument("file", help="impulse response (.wav, .flac, .ogg); every channel is analysed")
    ana.add_argument("--blind", action="store_true",
                     help="the file is a recording of speech in the room, not a response: blind T60 and ambience")
    ana.add_argument("--json", action="store_true", help="print JSON (a list for multi-channel files)")
    ana.add_argument("--plot", help="write the decay curves to this figure (.png, .pdf, .svg)")
    ana.set_defaults(func=_cmd_analyze)

    from soundstage.spatial.formats import FORMATS

    spa = sub.add_parser("spatialize", help="render a YAML scene of sources into spatial audio")
    spa.add_argument("scene", help="scene file (.yaml): sources, listener, optional room; see the README")
    spa.add_argument("-o", "--output", required=True, help="output .wav (loudspeaker formats carry a channel mask)")
    spa.add_argument("--format", default="binaural", choices=list(FORMATS),
                     help="; ".join(f"{name}: {f.description}" for name, f in FORMATS.items()) + " (default binaural)")
    spa.add_argument("--plot", help="also write a plan of the scene with channel levels (.png, .pdf, .svg)")
    spa.add_argument("--json", action="store_true", help="print the result as JSON")
    spa.set_defaults(func=_cmd_spatialize)

    spk = sub.add_parser("speak", help="say text (or play dry speech) in the room pictured by an RGB(-D) image")
    spk.add_argument("text", nargs="?", help="what to say (or give --speech)")
    spk.add_argument("--image", required=True, help="colour picture of the room")
    spk.add_argument("--depth", help="depth map of the same size (see --depth-scale, --depth-encoding)")
    spk.add_argument("--intrinsics", help="fx,fy,cx,cy in pixels (default: 60 degree horizontal field of view)")
    spk.add_argument("--depth-scale", type=float, help="stored depth units per metre (default 1000: millimetres)")
    spk.add_argument("--depth-encoding", default="linear", choices=("linear", "sunrgbd", "kinect-disparity"),
                     help="how the depth file stores distance (default linear)")
    spk.add_argument("--speech", help="a dry speech recording to use instead of text-to-speech")
    spk.add_argument("--tts", default="espeak-ng", choices=("espeak-ng", "flite", "piper"), help="text-to-speech back-end")
    spk.add_argument("--voice", help="voice of the back-end (espeak/flite voice name, piper .onnx file)")
    spk.add_argument("--speaker-pixel", help="U,V pixel where the talker stands (default: about 2 m in front)")
    spk.add_argument("--binaural", action="store_true", help="two ears (KEMAR HRTF) instead of one microphone")
    spk.add_argument("--sr", type=int, default=16000, help="sample rate in Hz (default 16000)")
    spk.add_argument("-o", "--output", required=True, help="output audio file")
    spk.add_argument("--plot", help="scene figure (PNG): regions, materials, depth, plan")
    spk.add_argument("--scene-json", help="write the whole scene as JSON")
    spk.add_argument("--json", action="store_true", help="print the scene summary as JSON")
    spk.add_argument("--model", default="physics", choices=("physics", "learned"),
                     help="physics: shoebox response from the fitted scene (default); learned: response from the "
                          "acoustic profile the visual-acoustics model predicts (mono)")
    spk.add_argument("--checkpoint", help="visual-acoustics checkpoint for --model learned "
                                          "(default: the shipped models/weights/visual_acoustics)")
    spk.set_defaults(func=_cmd_speak)

    s2s = sub.add_parser("see2sound", help="a picture -> a spatial soundscape of what is in it, in its room")
    s2s.add_argument("image", help="colour picture or video (indoor or outdoor); a video's sources follow their regions")
    s2s.add_argument("-o", "--output", required=True, help="output .wav")
    s2s.add_argument("--depth", help="depth map of the same size (see --depth-scale, --depth-encoding)")
    s2s.add_argument("--intrinsics", help="fx,fy,cx,cy in pixels (default: 60 degree horizontal field of view)")
    s2s.add_argument("--depth-scale", type=float, help="stored depth units per metre (default 1000: millimetres)")
    s2s.add_argument("--depth-encoding", default="linear", choices=("linear", "sunrgbd", "kinect-disparity"),
                     help="how the depth file stores distance (default linear)")
    s2s.add_argument("--format", default="binaural", choices=list(FORMATS),
                     help="; ".join(f"{name}: {f.description}" for name, f in FORMATS.items()) + " (default binaural)")
    s2s.add_argument("--sources", type=int, default=3, help="regions made sources, best first (default 3)")
    s2s.add_argument("--label", action="append", metavar="N=CATEGORY",
                     help="what region N (numbered from 1 by rank) sounds like: a procedural category, a "
                          "--bank label, or with --generator any text prompt; repeatable")
    s2s.add_argument("--labels", help="YAML file of labels, one 'N: CATEGORY' per line (--label wins over it)")
    s2s.add_argument("--bank", help="folder of your recordings, one sub-folder per label (used before procedural sounds)")
    s2s.add_argument("--generator", metavar="DIR",
                     help="local AudioLDM checkpoint folder (diffusers layout): labels without a bank folder are "
                          "generated from text instead of procedural (needs soundstage[generate])")
    s2s.add_argument("--generator-steps", type=int, default=25, metavar="N", help="denoising steps per generated sound (default 25)")
    s2s.add_argument("--sam", metavar="DIR", help="local Segment Anything checkpoint folder (transformers layout): "
                                                  "its object masks group the regions (needs soundstage[generate])")
    s2s.add_argument("--space", default="auto", choices=("auto", "indoor", "outdoor"),
                     help="indoors: the fitted room's acoustics; outdoors: free field with a ground reflection "
                          "(default auto: outdoors when the picture shows sky)")
    s2s.add_argument("--duration", type=float, default=10.0,
                     help="seconds of a picture's soundscape (default 10), which loops seamlessly; a video's is as long as it")
    s2s.add_argument("--sr", type=int, default=48000, help="sample rate in Hz (default 48000)")
    s2s.add_argument("--seed", type=int, default=0, help="seed of the sounds and the reverberation")
    s2s.add_argument("--plot", help="overlay of the regions on the picture (a video's first frame) and a plan (PNG)")
    s2s.add_argument("--mux", help="with a video: also write it (.mkv, .mp4, .mov) with the new soundtrack")
    s2s.add_argument("--json", action="store_true", help="print the regions and what was written as JSON")
    s2s.set_defaults(func=_cmd_see2sound)

    dat = sub.add_parser("data", help="make datasets")
    dat_sub = dat.add_subparsers(dest="dataset", required=True)
    rs = dat_sub.add_parser("roomsynth", help="procedural rooms: RGB, depth, impulse response, acoustic profile, caption")
    rs.add_argument("--out", required=True, help="dataset folder (resumes what is there)")
    rs.add_argument("--n", type=int, required=True, help="items of the split (0 .. n-1)")
    rs.add_argument("--split", default="train", choices=("train", "test-seen", "test-unseen"))
    rs.add_argument("--seed", type=int, default=0)
    rs.add_argument("--workers", type=int, default=1, help="worker processes, or the CPUs of a Ray started here")
    rs.add_argument("--size", type=int, default=224, help="image width and height in pixels (default 224)")
    rs.add_argument("--backend", default="local", choices=("local", "ray"),
                    help="local: process pool (default); ray: Ray tasks (pip install 'soundstage[ray]')")
    rs.add_argument("--ray-address", help="running Ray cluster, e.g. auto or ray://head:10001 (default: start a "
                    "local Ray with --workers CPUs); the cluster must see --out")
    rs.set_defaults(func=_cmd_roomsynth)

    inp = sub.add_parser("inpaint", help="restore missing speech from the audio and the talker's lips")
    inp.add_argument("--video", required=True, help="talking-face video; its audio track is used unless --audio is given")
    inp.add_argument("--audio", help="damaged speech to restore (any rate; written at 16 kHz)")
    inp.add_argument("--gaps", help="spans to fill in seconds, e.g. 1.20-2.00,2.4-2.7 (default: detected dropouts)")
    inp.add_argument("--model", default="av-mtl", choices=["av-mtl", "av", "audio", "classical"],
                     help="av-mtl: lips + lip-reading training (default); av: lips; audio: audio only; "
                     "classical: interpolation, no learning")
    inp.add_argument("--allow-audio-only", action="store_true", help="use the audio-only model when no face is found")
    inp.add_argument("-o", "--output", required=True, help="restored audio file (.wav, .flac, .ogg)")
    inp.add_argument("--json", action="store_true", help="print the result as JSON")
    inp.set_defaults(func=_cmd_inpaint)

    sty = sub.add_parser("stylize", help="re-record speech in the room and background of a reference clip")
    sty.add_argument("input", help="speech to stylize (audio file)")
    sty.add_argument("--reference", required=True,
                     help="a recording from the target scene: audio, video (its audio track) or, with --visual-only, "
                          "a picture or video frame")
    sty.add_argument("-o", "--output", required=True, help="output audio file")
    sty.add_argument("--method", default="dsp", choices=("dsp", "diffusion"),
                     help="dsp: blind room estimate + synthesized response + the reference's ambience (default); "
                          "diffusion: the learned stylizer of --checkpoint")
    sty.add_argument("--checkpoint", help="stylizer checkpoint for --method diffusion (recipes/stylize/train.py)")
    sty.add_argument("--no-ambience", action="store_true", help="leave the reference's background out")
    sty.add_argument("--tail", action="store_true", help="keep the reverberation tail after the input ends")
    sty.add_argument("--dereverb", default="auto", choices=("auto", "on", "off"),
                     help="WPE dereverberation of the input first (auto: when its blind T60 is above 0.3 s)")
    sty.add_argument("--visual-only", action="store_true",
                     help="take the room from the reference picture (scene layer physics), no ambience")
    sty.add_argument("--depth", help="depth map of the reference picture (with --visual-only)")
    sty.add_argument("--intrinsics", help="fx,fy,cx,cy of the reference picture in pixels")
    sty.add_argument("--depth-scale", type=float, help="stored depth units per metre (default 1000)")
    sty.add_argument("--allow-clipped", action="store_true", help="stylize a clipped input instead of refusing it")
    sty.add_argument("--seed", type=int, default=0, help="seed of the response's noise and the ambience loop")
    sty.add_argument("--plot", help="spectrograms of the reference, the input and the output (PNG)")
    sty.add_argument("--json", action="store_true", help="print the reference profile and what was done as JSON")
    sty.set_defaults(func=_cmd_stylize)

    ev = sub.add_parser("eval", help="evaluate a job on a dataset")
    ev_sub = ev.add_subparsers(dest="job", required=True)
    evi = ev_sub.add_parser("inpaint", help="PESQ, STOI, LSD and log-mel L1 per model and gap length")
    evi.add_argument("--data", required=True, help="folder of GRID-layout clips (<id>.mkv + <id>.align)")
    evi.add_argument("--split", default="test", help="test, val, train (the fixed split by clip id) or all")
    evi.add_argument("--models", help="comma-separated subset of av-mtl,av,audio,classical (default all)")
    evi.add_argument("--seed", type=int, default=0, help="seed of the gap positions (default 0)")
    evi.add_argument("--limit", type=int, help="score only the first N clips")
    evi.add_argument("--cache", help="folder caching lip landmarks between runs")
    evi.add_argument("--no-control", action="store_true",
                     help="leave out the control (the gap filled by the same talker saying other words)")
    evi.add_argument("--plot", help="write the metrics against gap length to this figure (.png, .pdf, .svg)")
    evi.add_argument("--json", action="store_true", help="print JSON: {model: {gap_ms: {pesq, stoi, lsd, l1}}}")
    evi.set_defaults(func=_cmd_eval_inpaint)
    evs = ev_sub.add_parser("speak", help="RTE and MCD of predicted room responses on a RoomSynth folder")
    evs.add_argument("--data", required=True, help="RoomSynth folder (manifest.jsonl + items/)")
    evs.add_argument("--split", default="test-unseen", help="train, test-seen or test-unseen (default test-unseen)")
    evs.add_argument("--limit", type=int, help="score only the first N items")
    evs.add_argument("--model", action="append", metavar="NAME=CKPT",
                     help="a visual-acoustics checkpoint to score under NAME (repeatable)")
    evs.add_argument("--systems", help="comma-separated built-in systems to run, from mean,physics (default both; "
                     "'' for none)")
    evs.add_argument("--mean-from", help="RoomSynth folder whose train items give the mean system (default --data)")
    evs.add_argument("--speech", help="dry voice recording (default: a sentence spoken by espeak-ng)")
    evs.add_argument("--plot", help="write a bar chart of RTE and MCD per system (.png, .pdf, .svg)")
    evs.add_argument("--json", action="store_true", help='print JSON: {system: {"rte_s", "mcd_db", "n", ...}}')
    evs.set_defaults(func=_cmd_eval_speak)
    est = ev_sub.add_parser("stylize", help="stylization against true re-recordings built from real responses, "
                                            "speech and ambience")
    est.add_argument("--data", required=True, help="folder with speech/, rirs/ and ambient/ (like ../shared/data)")
    est.add_argument("--systems", help="comma-separated subset of none,generic-reverb,dsp,true-room (default all)")
    est.add_argument("--model", action="append", metavar="NAME=CHECKPOINT",
                     help="also score a stylizer checkpoint (recipes/stylize/train.py) as system NAME; repeatable")
    est.add_argument("--limit", type=int, help="score only the first N items")
    est.add_argument("--seed", type=int, default=0)
    est.add_argument("--plot", help="bar chart of the median of each metric per system (PNG)")
    est.add_argument("--json", action="store_true", help="print JSON")
    est.set_defaults(func=_cmd_eval_stylize)
    es2 = ev_sub.add_parser("see2sound", help="MFCC-DTW similarity of the RGB-D pictures' soundscapes to real "
                                              "indoor and outdoor recordings")
    es2.add_argument("--data", required=True, help="folder with rgbd/ and ambient/ (like ../shared/data)")
    es2.add_argument("--out", help="folder for each picture's overlay PNG and soundscape")
    es2.add_argument("--seed", type=int, default=0)
    es2.add_argument("--plot", help="bar chart of the mean similarity per system (PNG)")
    es2.add_argument("--json", action="store_true", help="print JSON")
    es2.set_defaults(func=_cmd_eval_see2sound)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; exit code 0 on success, 2 on bad input."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SoundstageError as err:
        print(f"soundstage: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
