"""Pictures of results: impulse responses, decay curves, spectrograms.

matplotlib is imported lazily with the Agg backend, so nothing here needs a screen.
Every figure is written atomically and never over an input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from soundstage.acoustics.analysis import AcousticProfile, energy_decay_curves
from soundstage.io.atomic import atomic_write


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path, inputs: Iterable[str | Path], *, tight: bool = True) -> Path:
    plt = _pyplot()
    try:
        if tight:
            fig.tight_layout()
        return atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110), inputs=inputs)
    finally:
        plt.close(fig)


def _draw_decays(ax, h: np.ndarray, sr: int, profile: AcousticProfile | None) -> None:
    curves = energy_decay_curves(h, sr)
    t = curves["time"] * 1000.0
    cmap = _pyplot().get_cmap("viridis")
    for i, (fc, edc) in enumerate(curves["bands"].items()):
        if np.all(np.isnan(edc)):
            continue
        t30 = profile.bands[fc]["t30"] if profile else np.nan
        label = f"{fc} Hz" + (f"  T30 {t30:.2f} s" if np.isfinite(t30) else "")
        ax.plot(t, edc, color=cmap(i / 7), lw=1.0, label=label)
    bb = profile.broadband["t30"] if profile else np.nan
    ax.plot(t, curves["broadband"], color="k", lw=1.8, label="broadband" + (f"  T30 {bb:.2f} s" if np.isfinite(bb) else ""))
    ax.set(xlabel="time after onset (ms)", ylabel="energy decay (dB)", ylim=(-70, 3), title="Schroeder decay curves")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")


def plot_impulse_response(
    h: np.ndarray,
    sr: int,
    path: str | Path,
    *,
    title: str = "impulse response",
    profile: AcousticProfile | None = None,
    inputs: Iterable[str | Path] = (),
) -> Path:
    """Waveform, log energy envelope and per-band decay curves of a mono response ``(samples,)``."""
    plt = _pyplot()
    h = np.asarray(h, dtype=np.float64).ravel()
    t = np.arange(h.size) / sr * 1000.0
    fig, axes = plt.subplots(3, 1, figsize=(9, 9))
    axes[0].plot(t, h, lw=0.6)
    axes[0].set(xlabel="time (ms)", ylabel="amplitude", title=title)
    level = 10 * np.log10(h**2 / max(np.max(h**2), 1e-30) + 1e-12)
    axes[1].plot(t, level, lw=0.4)
    axes[1].set(xlabel="time (ms)", ylabel="level re peak (dB)", ylim=(-90, 3))
    for ax in axes[:2]:
        ax.grid(alpha=0.3)
    _draw_decays(axes[2], h, sr, profile)
    return _save(fig, path, inputs)


def plot_decay_curves(
    h: np.ndarray, sr: int, path: str | Path, *, profiles: Sequence[AcousticProfile] | None = None,
    title: str = "", inputs: Iterable[str | Path] = (),
) -> Path:
    """Per-band and broadband Schroeder decay curves, one panel per channel of ``h`` ``(channels, samples)``."""
    plt = _pyplot()
    h = np.atleast_2d(np.asarray(h, dtype=np.float64))
    fig, axes = plt.subplots(h.shape[0], 1, figsize=(8, 4.5 * h.shape[0]), squeeze=False)
    for c, ax in enumerate(axes[:, 0]):
        _draw_decays(ax, h[c], sr, profiles[c] if profiles else None)
        name = f"{title} channel {c + 1}" if h.shape[0] > 1 else title
        if name:
            ax.set_title(name)
    return _save(fig, path, inputs)


def plot_blind_decays(
    x: np.ndarray, sr: int, path: str | Path, *, profile: dict, title: str = "", inputs: Iterable[str | Path] = (),
) -> Path:
    """A recording's level with its sound and ambience frames, and per band the decay times of its free decays.

    ``profile`` is :func:`~soundstage.acoustics.blind.blind_profile` of ``x``; the
    estimate of each band is marked on its distribution.
    """
    from soundstage.acoustics import blind

    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), layout="constrained")
    hop = int(round(blind.FRAME_S * sr))
    power = blind._blocks(np.asarray(x, dtype=np.float64) ** 2, hop)
    t = np.arange(power.size) * blind.FRAME_S
    active = blind.speech_activity(x, sr)[: power.size]
    top.plot(t, 10 * np.log10(power / 0.5 + 1e-12), lw=0.7, color="k")
    top.fill_between(t, -120, 0, where=active, color="tab:orange", alpha=0.25, label="sound")
    amb = profile["ambience"]
    if amb["level_dbfs"] is not None:
        top.axhline(amb["level_dbfs"], color="tab:blue", ls="--", label=f"ambience ({amb['source']})")
    top.set(xlabel="time (s)", ylabel="level (dBFS)", ylim=(10 * np.log10(power.max() / 0.5 + 1e-12) - 80, None),
            title=title or "recording")
    top.legend(loc="lower right")
    frames = blind.frame_t60s(x, sr)
    names = [fc for fc in frames if frames[fc].size]
    bottom.boxplot([frames[fc] for fc in names], tick_labels=[f"{fc} Hz" for fc in names], whis=(5, 95), showfliers=False)
    est = [profile["bands"][str(fc)]["t30"] for fc in names]
    bottom.plot(np.arange(1, len(names) + 1), [np.nan if e is None else e for e in est], "r*", ms=12,
                label=f"blind T60 ({blind.T60_QUANTILE:.0%} quantile)")
    bottom.set(yscale="log", ylabel="decay time of a free decay (s)", xlabel="octave band")
    bottom.legend()
    return _save(fig, path, inputs, tight=False)


def plot_spectrograms(
    signals: Sequence[np.ndarray], sr: int, path: str | Path, *, titles: Sequence[str],
    inputs: Iterable[str | Path] = (),
) -> Path:
    """Log-magnitude spectrograms of mono signals, one panel each, on a shared colour scale."""
    from soundstage.dsp.spectral import stft

    plt = _pyplot()
    same = len({np.asarray(s).size for s in signals}) == 1
    fig, axes = plt.subplots(len(signals), 1, figsize=(9, 3 * len(signals)), squeeze=False, sharex=same,
                             layout="constrained")
    specs = [20 * np.log10(np.abs(stft(np.asarray(s, dtype=np.float32).ravel(), n_fft=512, hop=128)) + 1e-7) for s in signals]
    top = max(float(s.max()) for s in specs)
    for ax, spec, name in zip(axes[:, 0], specs, titles):
        extent = (0, spec.shape[1] * 128 / sr, 0, sr / 2000)
        im = ax.imshow(spec, origin="lower", aspect="auto", extent=extent, vmin=top - 80, vmax=top, cmap="magma")
        ax.set(title=name, xlabel="time (s)", ylabel="kHz")
    fig.colorbar(im, ax=axes[:, 0].tolist(), label="dB")
    return _save(fig, path, inputs, tight=False)


def _plan_listener(plan, room, listener: np.ndarray, yaw_deg: float, label: str) -> None:
    """On a top view: the room's outline (when there is one), the listener and an arrow where it faces."""
    plt = _pyplot()
    if room is not None:
        lx, ly, _ = room.dims
        plan.add_patch(plt.Rectangle((0, 0), lx, ly, fill=False, lw=2, color="0.3", label="room"))
    facing = np.radians(yaw_deg)
    plan.plot(listener[0], listener[1], "k^", ms=11, label=label)
    plan.annotate("", xy=(listener[0] - 0.8 * np.sin(facing), listener[1] + 0.8 * np.cos(facing)),
                  xytext=(listener[0], listener[1]), arrowprops={"arrowstyle": "->", "lw": 2})


def _plan_axes(plan, title: str, legend_size: int) -> None:
    plan.set_aspect("equal", adjustable="datalim")
    plan.set_xlabel("x (m), right")
    plan.set_ylabel("y (m), forward")
    plan.set_title(title)
    plan.legend(loc="best", fontsize=legend_size)
    plan.grid(alpha=0.3)


def plot_spatial_scene(scene, audio: np.ndarray, labels: Sequence[str], path: str | Path) -> Path:
    """Plan of a spatial scene (room, listener and its facing, sources and trajectories) and the output levels.

    ``scene`` is a :class:`~soundstage.pipelines.spatialize.SpatialScene`; ``audio`` the
    rendered ``(channels, samples)`` mix with channel ``labels``.
    """
    plt = _pyplot()
    fig, (plan, levels) = plt.subplots(1, 2, figsize=(11, 4.8), gridspec_kw={"width_ratios": [1.3, 1]})
    _plan_listener(plan, scene.room, scene.listener, scene.yaw_deg, "listener")
    colors = plt.get_cmap("tab10")
    for i, src in enumerate(scene.sources):
        pos = src.path.positions
        if src.static:
            plan.plot(pos[0, 0], pos[0, 1], "o", color=colors(i % 10), ms=9, label=src.name)
        else:
            plan.plot(pos[:, 0], pos[:, 1], "-", color=colors(i % 10), lw=2, label=f"{src.name} (moving)")
            plan.annotate("", xy=pos[-1, :2], xytext=pos[-2, :2], arrowprops={"arrowstyle": "->", "color": colors(i % 10)})
    _plan_axes(plan, "scene plan (top view)", 8)
    x = np.asarray(audio, dtype=float)
    hop = max(1, scene.sr // 20)
    frames = x[:, : x.shape[1] // hop * hop].reshape(x.shape[0], -1, hop)
    rms = 10 * np.log10(np.maximum((frames**2).mean(axis=2), 1e-12))
    t = (np.arange(rms.shape[1]) + 0.5) * hop / scene.sr
    for c, label in enumerate(labels[: min(len(labels), 16)]):
        levels.plot(t, rms[c], lw=1, label=label)
    levels.set_ylim(max(rms.max() - 60, -120), rms.max() + 3)
    levels.set_xlabel("time (s)")
    levels.set_ylabel("level (dBFS, 50 ms RMS)")
    levels.set_title("output channels")
    levels.legend(fontsize=7, ncol=2 if len(labels) > 8 else 1)
    levels.grid(alpha=0.3)
    return _save(fig, path, scene.inputs)


def plot_inpainting_scores(scores: dict, path: str | Path) -> Path:
    """PESQ, STOI, LSD and log-mel L1 against gap length, one line per model (``evaluate``'s output)."""
    plt = _pyplot()
    metrics = (("pesq", "PESQ (wide-band)"), ("stoi", "STOI"), ("lsd", "LSD in the gap (dB)"), ("l1", "log-mel L1 in the gap"))
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6))
    for name, per_bin in scores.items():
        bins = sorted(per_bin, key=int)
        for ax, (key, _) in zip(axes, metrics):
            style = {"ls": "--", "color": "0.5"} if name == "other words" else {}
            ax.plot([int(b) for b in bins], [per_bin[b][key] for b in bins], marker="o", label=name, **style)
    for ax, (_, label) in zip(axes, metrics):
        ax.set_xlabel("gap length (ms)")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    return _save(fig, path, ())


def plot_scene(scene, rgb: np.ndarray, depth: np.ndarray | None, path: str | Path, *, inputs: Iterable[str | Path] = ()) -> Path:
    """One picture of a :class:`~soundstage.scene.scene.Scene`: regions and materials, depth, top-down plan.

    The plan shows the room box (observed walls solid, estimated ones dashed), the
    camera with its field of view, the talker and the listener.
    """
    from skimage.segmentation import find_boundaries

    from soundstage.scene.camera import project

    plt = _pyplot()
    fig, (img, dep, plan) = plt.subplots(1, 3, figsize=(16, 4.8), gridspec_kw={"width_ratios": [1.3, 1.3, 1]})
    shown = np.asarray(rgb, float) / 255.0
    if scene.labels is not None:
        shown[find_boundaries(scene.labels, mode="thick")] = (1.0, 1.0, 0.0)
    img.imshow(shown)
    largest = {}  # one label per (surface, material): on its largest region
    for region in scene.regions:
        key = (region.surface, region.material)
        if region.pixels > 0.002 * shown.shape[0] * shown.shape[1] and region.pixels > getattr(largest.get(key), "pixels", 0):
            largest[key] = region
    for region in largest.values():
        u0, v0, u1, v1 = region.bbox
        img.text((u0 + u1) / 2, (v0 + v1) / 2, region.material.replace("_", " "), fontsize=6, ha="center",
                 va="center", color="white", bbox={"facecolor": "black", "alpha": 0.5, "pad": 1, "lw": 0})
    cam_speaker = scene.layout.rotation.T @ (scene.speaker - scene.layout.translation)
    if cam_speaker[2] > 0:
        u, v = project(cam_speaker, scene.intrinsics)
        img.plot(u, v, "r*", ms=16, mec="white", label="talker")
        img.legend(loc="lower right", fontsize=8)
    img.set_title("regions and estimated materials")
    img.axis("off")
    if depth is not None:
        im = dep.imshow(depth, cmap="turbo")
        fig.colorbar(im, ax=dep, fraction=0.046, label="depth (m)")
        dep.set_title("depth")
    else:
        dep.text(0.5, 0.5, "no depth map\n(monocular prior room)", ha="center", va="center", transform=dep.transAxes)
    dep.axis("off")
    lx, ly, lz = scene.layout.dims
    walls = {"south": ((0, 0), (lx, 0)), "north": ((0, ly), (lx, ly)), "west": ((0, 0), (0, ly)), "east": ((lx, 0), (lx, ly))}
    for name, (a, b) in walls.items():
        fit = scene.layout.surfaces[name]
        plan.plot([a[0], b[0]], [a[1], b[1]], "-" if fit.observed else "--", color="0.2", lw=2.5 if fit.observed else 1.2)
        mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
        plan.text(*mid, f"{name}\n{scene.surfaces[name]['material']}", fontsize=7, ha="center", va="center",
                  color="0.25", bbox={"facecolor": "white", "alpha": 0.7, "lw": 0})
    cam = scene.layout.camera_position
    yaw = np.radians(scene.listener_yaw())
    half = np.arctan2(scene.intrinsics.width / 2, scene.intrinsics.fx)
    for side in (-half, half):
        end = cam[:2] + 1.5 * np.array([-np.sin(yaw + side), np.cos(yaw + side)])
        plan.plot([cam[0], end[0]], [cam[1], end[1]], color="tab:blue", lw=0.8)
    plan.plot(*scene.listener[:2], "b^", ms=11, label="listener (camera)")
    plan.plot(*scene.speaker[:2], "r*", ms=15, label="talker")
    plan.set_aspect("equal", adjustable="datalim")
    plan.set_xlabel("x (m)")
    plan.set_ylabel("y (m)")
    t30 = scene.predicted_t30()
    plan.set_title(f"plan: {lx:.1f} x {ly:.1f} x {lz:.1f} m, T30(1 kHz) {t30['1000']:.2f} s")
    plan.legend(loc="best", fontsize=7)
    plan.grid(alpha=0.3)
    fig.suptitle(scene.caption, fontsize=9, wrap=True)
    return _save(fig, path, inputs)


def plot_sound_scene(rgb: np.ndarray, scene, path: str | Path, *, inputs: Iterable[str | Path] = ()) -> Path:
    """The regions a :class:`~soundstage.pipelines.see2sound.SoundScene` made sources, over the picture, and a plan.

    Each region of interest is outlined and tinted in its own colour with its rank and
    label; the plan shows the listener, its facing, the room (indoors) and each source
    with its azimuth and distance.
    """
    from skimage.segmentation import find_boundaries

    plt = _pyplot()
    fig, (img, plan) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [1.5, 1]})
    shown = np.asarray(rgb, float) / 255.0 * 0.6
    colors = plt.get_cmap("tab10")
    for k, region in enumerate(scene.regions):
        mask = np.isin(scene.labels, region.members)
        tint = np.array(colors(k % 10)[:3])
        shown[mask] = 0.55 * shown[mask] / 0.6 + 0.45 * tint
        shown[find_boundaries(mask, mode="thick")] = tint
    img.imshow(np.clip(shown, 0, 1))
    for k, region in enumerate(scene.regions):
        u, v = region.pixel
        img.text(u, v, f"{region.rank}: {region.label}", fontsize=9, ha="center", va="center", color="white",
                 bbox={"facecolor": colors(k % 10), "alpha": 0.85, "pad": 2, "lw": 0})
    img.set_title(f"regions of interest ({'outdoor' if scene.outdoor else 'indoor'})")
    img.axis("off")
    lst = scene.listener
    _plan_listener(plan, scene.room, lst, scene.yaw_deg, "listener (camera)")
    for k, region in enumerate(scene.regions):
        p = region.position
        plan.plot([lst[0], p[0]], [lst[1], p[1]], ":", color=colors(k % 10), lw=1)
        if region.path_positions is not None and len(region.path_positions) > 1:  # a video's moving source
            track = region.path_positions
            plan.plot(track[:, 0], track[:, 1], "-", color=colors(k % 10), lw=2)
            plan.annotate("", xy=track[-1, :2], xytext=track[-2, :2], arrowprops={"arrowstyle": "->", "color": colors(k % 10)})
        plan.plot(p[0], p[1], "o", color=colors(k % 10), ms=10,
                  label=f"{region.rank}: {region.label}, az {region.azimuth_deg:+.0f} deg, {region.distance_m:.1f} m")
    _plan_axes(plan, "plan (top view)", 7)
    return _save(fig, path, inputs)
