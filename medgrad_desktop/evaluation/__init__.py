"""Quantitative evaluation of explanations: faithfulness (deletion/insertion), localization against
ground-truth masks, randomization sanity checks, baselines and paired bootstrap intervals.

No Qt here: the command line and the reports call these functions on plain arrays.
"""
