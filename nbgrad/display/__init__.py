"""Pure renderers: object -> text (and, with the display issue, HTML/SVG). No IPython here."""
