"""Room acoustics: materials, shoebox and convex rooms, image sources, late reverberation, synthesis, analysis, blind estimation."""

from soundstage.acoustics.air import air_attenuation_db, air_energy_coefficient
from soundstage.acoustics.analysis import AcousticProfile, analyze, analyze_channels, energy_decay_curves
from soundstage.acoustics.blind import ambience, blind_profile, blind_t60
from soundstage.acoustics.convex import ConvexRoom
from soundstage.acoustics.directivity import cardioid, polar_pattern
from soundstage.acoustics.image_source import ImageSources, image_sources
from soundstage.acoustics.materials import Material, get_material, list_materials
from soundstage.acoustics.rir import ImpulseResponse, synthesize_rir, synthesize_rirs
from soundstage.acoustics.room import SURFACES, AirConditions, Room

__all__ = [
    "AcousticProfile",
    "AirConditions",
    "ConvexRoom",
    "ImageSources",
    "ImpulseResponse",
    "Material",
    "Room",
    "SURFACES",
    "air_attenuation_db",
    "air_energy_coefficient",
    "ambience",
    "analyze",
    "analyze_channels",
    "blind_profile",
    "blind_t60",
    "cardioid",
    "energy_decay_curves",
    "get_material",
    "image_sources",
    "list_materials",
    "polar_pattern",
    "synthesize_rir",
    "synthesize_rirs",
]
