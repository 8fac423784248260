"""The Streamlit side of Tierlens: settings, text, cached core calls, charts and exports.

Only this package (and ``app.py`` / ``pages/``) imports Streamlit; ``segmentation`` stays pure.
"""
