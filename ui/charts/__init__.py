"""Chart builders: plain functions from small frames to Plotly figures, one module per concept.

Every figure has a title, axis titles with units and hover text. Tier colours come from
:func:`ui.charts.style.tier_colors`, so a tier looks the same on every page.
"""
