"""The drive simulator: known-answer drives for engine tests and the demo fleet's tracks.

Pure numpy, deterministic for a seed, no AWS. ``drive.Scenario`` builds a track and its truth;
``demo`` holds the demo fleet's places, trackers and daily tracks.
"""
