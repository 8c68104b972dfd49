"""Experiments judged with statistics: repeated runs over seeds, a catalogue of runs, comparisons
with significance tests."""
