"""Metrics: how well rendered sound matches its target (spatial cues, direction of arrival)."""

from soundstage.metrics.spatial import estimate_direction, iacc, ild, itd

__all__ = ["estimate_direction", "iacc", "ild", "itd"]
