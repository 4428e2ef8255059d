"""Objective -> estimates: optimisers, the nip schedule, multilevel fits."""
