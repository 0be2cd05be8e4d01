"""Page-wide accessibility styles: a focus ring every keyboard user can see, and no motion for those who ask.

Called once per run from app.py (every page runs through it); the styles are assets/styles/accessibility.css.
"""
from ui.page_styles import use_styles


def accessibility_styles():
    """The page-wide focus ring and reduced-motion styles (an invisible element)."""
    use_styles("accessibility")
