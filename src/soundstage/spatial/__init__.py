"""Spatial audio: what a listener hears from each direction, in any output format.

* :mod:`~soundstage.spatial.hrtf` and :mod:`~soundstage.spatial.binaural`: measured
  (SOFA) or analytic head-related transfer functions, and the two-ear receiver;
* :mod:`~soundstage.spatial.ambisonics`: AmbiX encoding, rotation, decoding to
  loudspeakers (AllRAD) and to headphones (MagLS);
* :mod:`~soundstage.spatial.panning`: loudspeaker layouts (stereo, 5.1, 7.1, 7.1.4) and VBAP;
* :mod:`~soundstage.spatial.moving`: trajectories and time-varying rendering with Doppler;
* :mod:`~soundstage.spatial.render`: sources in free field or in a room, mixed;
* :mod:`~soundstage.spatial.formats`: output formats by name.

Every receiver implements :class:`soundstage.acoustics.receiver.Receiver`, so the room
engine renders each image source through it from its own direction. Coordinates and
angles follow :mod:`soundstage.geometry`.
"""

from soundstage.spatial.ambisonics import Ambisonics, decode_binaural, decode_to_layout, encode, rotate, sh_matrix
from soundstage.spatial.binaural import Binaural
from soundstage.spatial.formats import FORMATS, get_format, make_receiver
from soundstage.spatial.hrtf import HRTF, default_hrtf, load_sofa, spherical_head_hrtf
from soundstage.spatial.moving import Trajectory, render_moving
from soundstage.spatial.panning import LAYOUTS, Layout, Loudspeakers, add_lfe, get_layout, vbap_gains
from soundstage.spatial.render import Source, free_field_response, render_sources, source_response

__all__ = [
    "Ambisonics",
    "Binaural",
    "FORMATS",
    "HRTF",
    "LAYOUTS",
    "Layout",
    "Loudspeakers",
    "Source",
    "Trajectory",
    "add_lfe",
    "decode_binaural",
    "decode_to_layout",
    "default_hrtf",
    "encode",
    "free_field_response",
    "get_format",
    "get_layout",
    "load_sofa",
    "make_receiver",
    "render_moving",
    "render_sources",
    "rotate",
    "sh_matrix",
    "source_response",
    "spherical_head_hrtf",
    "vbap_gains",
]
