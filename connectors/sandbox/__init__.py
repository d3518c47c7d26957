"""Provider simulators on loopback, one subpackage each (``hubspot/``, ``slack/``, ...).

A simulator package's ``__init__`` exposes the contract in ``kit/simulator.py``;
``app`` mounts every package that does. ``kit/`` holds what they share, and
``server`` runs the app in a background thread.
"""
