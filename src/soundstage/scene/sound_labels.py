"""What a picture region probably sounds like: a documented heuristic, not a recognizer.

:func:`classify_sound` names a category of :data:`soundstage.sources.procedural.CATEGORIES`
for a measured :class:`~soundstage.scene.regions.Region` from its mean colour (hue,
saturation, value), texture, place in the picture, the face of the room it lies on and
whether the scene is outdoors. The rules, tried in this order (first match wins):

=============  ==========================================================================
``fire``       orange to yellow flames (hue 0.03-0.12), saturation >= 0.6, value >= 0.75
``wind``       outdoors, sky: touches the top edge or lies in the top 40 %, smooth
               (texture < 0.015), blue (hue 0.5-0.72, saturation >= 0.15, value >= 0.35)
               or bright and grey (value >= 0.75, saturation < 0.12, overcast)
``waves``      outdoors, water: blue to cyan (hue 0.45-0.72, saturation >= 0.15) below the
               top 40 %, at least 10 % of the picture (a sea or lake); ``stream`` when smaller
``talker``     a person: the region holds the centre of a detected face
               (:func:`soundstage.vision.faces.detect_faces`) or has its own centre in
               the face's box, and is at most twice the box (the face, not the wall
               behind it); ``crowd`` instead when the picture shows several faces
``birds``      outdoors, foliage: green (hue 0.17-0.45, saturation >= 0.2) and textured
               (>= 0.015) or in the upper half (trees)
``insects``    outdoors, smooth green in the lower half (grass)
``traffic``    outdoors, road: grey (saturation < 0.15, value 0.15-0.7) in the lower half,
               wide (at least 20 % of the picture's width)
``engine``     outdoors, a vehicle: saturated (>= 0.4) compact object (under 10 %) not
               touching the picture's edges, in the lower two thirds
``hum``        indoors, machinery or vents: a smooth (texture < 0.012) grey or white
               (saturation < 0.12) object or ceiling region
``ambience``   anything else: room tone indoors, a quiet outdoor bed outside
=============  ==========================================================================

The thresholds were set by looking at typical photographs, not fitted: users who know
better label regions themselves (``--label 1=birds``), which always wins.
"""

from __future__ import annotations

from typing import Sequence

from soundstage.scene.regions import Region

__all__ = ["classify_sound"]

_TOP = 0.4  # the top 40 % of the picture is where sky is
_SMOOTH_SKY, _TEXTURED, _SMOOTH_OBJECT = 0.015, 0.015, 0.012


def classify_sound(region: Region, image_size: tuple[int, int], *, outdoor: bool,
                   faces: Sequence[tuple[float, float, float, float]] = ()) -> tuple[str, str]:
    """The category ``region`` probably sounds like and the rule that said so.

    ``image_size`` is ``(width, height)`` in pixels; ``faces`` are face boxes
    ``(u0, v0, u1, v1)`` found in the picture.
    """
    width, height = image_size
    hue, sat, val = (float(v) for v in region.hsv)
    u0, v0, u1, v1 = region.bbox
    centre_v = 0.5 * (v0 + v1) / height
    fraction = region.pixels / float(width * height)
    texture = float(region.texture)
    top = v0 == 0 or centre_v < _TOP
    edges = u0 == 0 or v0 == 0 or u1 == width or v1 == height
    green = 0.17 <= hue <= 0.45 and sat >= 0.2
    grey = sat < 0.15
    if 0.03 <= hue <= 0.12 and sat >= 0.6 and val >= 0.75:
        return "fire", "bright orange-yellow: flames"
    if outdoor and top and texture < _SMOOTH_SKY and (
            (0.5 <= hue <= 0.72 and sat >= 0.15 and val >= 0.35) or (val >= 0.75 and sat < 0.12)):
        return "wind", "smooth blue or bright grey at the top: sky"
    if outdoor and 0.45 <= hue <= 0.72 and sat >= 0.15 and centre_v >= _TOP:
        return ("waves", "a large blue expanse below the sky: sea or lake") if fraction >= 0.1 else (
            "stream", "blue below the sky, small: running water")
    for f0, g0, f1, g1 in faces:
        cu, cv = 0.5 * (f0 + f1), 0.5 * (g0 + g1)
        inside = f0 <= 0.5 * (u0 + u1) < f1 and g0 <= 0.5 * (v0 + v1) < g1
        if (inside or (u0 <= cu < u1 and v0 <= cv < v1)) and region.pixels <= 2.0 * (f1 - f0) * (g1 - g0):
            return ("crowd", "holds one of several detected faces: people") if len(faces) > 1 else (
                "talker", "holds a detected face: a person")
    if outdoor and green and (texture >= _TEXTURED or centre_v < 0.5):
        return "birds", "textured green or green up high: foliage"
    if outdoor and green:
        return "insects", "smooth green low in the picture: grass"
    if outdoor and grey and 0.15 <= val <= 0.7 and centre_v >= 0.5 and (u1 - u0) >= 0.2 * width:
        return "traffic", "wide grey band low in the picture: a road"
    if outdoor and sat >= 0.4 and fraction < 0.1 and not edges and centre_v >= 1 / 3:
        return "engine", "a saturated compact object low in the picture: a vehicle"
    if not outdoor and sat < 0.12 and texture < _SMOOTH_OBJECT and region.surface in ("object", "ceiling"):
        return "hum", "a smooth grey or white object or ceiling: machinery, vents"
    return "ambience", "nothing specific recognized"
